"""The proof on real servers: one verdict per case, and the decision re-derived from the record's rows.

(a) the reference itself; (b) the same weights in bfloat16 and in llama.cpp (the bundled Q4_1 file the
float32 reference was de-quantised from: same weights, llama.cpp's kernels); (c) other weights with the
same tokenizer (2% multiplicative weight noise); (d) a different model and tokenizer; (e) a relay that
deletes "Claude" from generated text but not from echoes (the Reflection tell); (f) an honest relay that
collapses whitespace. Endpoints that fail are in test_bad_endpoints.py, API modes in test_modes.py.
Every run is recorded in ``CASES`` and summarised at the end of the module (``pytest -s``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from harness.fingerprint import run_fingerprint
from harness.fingerprint.evidence import Evidence
from harness.fingerprint.verdict import decide

pytestmark = pytest.mark.slow

BUDGET = 120
CASES: dict[str, dict[str, Any]] = {}


def _run(tmp_path: Path, handle, model: str, case: str, budget: int = BUDGET, **kw) -> dict[str, Any]:
    out = tmp_path / case
    rec = run_fingerprint(
        out_dir=out,
        endpoint=handle.base_url,
        model=model,
        reference="smollm2",
        budget=budget,
        progress=False,
        **kw,
    )
    assert json.loads((out / "fingerprint.json").read_text()) == rec
    assert (out / "fingerprint.md").read_text().startswith("# Endpoint fingerprint")
    assert rec["cost"]["requests"] <= budget
    # the verdict is a pure function of the evidence rows the real probes produced
    rows = [Evidence.from_dict(e) for e in rec["evidence"]]
    again = decide(rows, alpha=rec["settings"]["alpha"], match_tier=rec["settings"]["match_tier"])
    assert again.verdict == rec["verdict"]
    # ... and monotone on them: more evidence against any test never weakens the verdict
    for r in rows:
        if r.weight > 0:
            r.e_value *= 10
    stronger = decide(rows, alpha=rec["settings"]["alpha"], match_tier=rec["settings"]["match_tier"])
    assert stronger.p_family <= again.p_family
    assert again.verdict != "mismatch" or stronger.verdict == "mismatch"
    CASES[case] = {
        "verdict": rec["verdict"],
        "relation": rec["weights_relation"],
        "requests": rec["cost"]["requests"],
        "tokens": rec["cost"]["tokens"],
        "seconds": rec["timing"]["seconds"],
    }
    return rec


def _ev(rec: dict[str, Any], name: str) -> dict[str, Any]:
    return next(e for e in rec["evidence"] if e["name"] == name)


def test_a_reference_itself_is_identical(tmp_path, reference_server):
    rec = _run(tmp_path, reference_server, "smollm2", "a_reference")
    assert rec["verdict"] == "match" and rec["status"] == "clean", rec["headline"]
    assert rec["weights_relation"] == "identical"
    lp = _ev(rec, "token_logprobs")
    assert lp["details"]["identical"] and lp["complete"]
    assert set(rec["family"]) == {
        "tokenizer_counts", "tokenizer_cuts", "echo_text", "output_filter", "greedy_tokens", "token_logprobs",
    }  # fmt: skip
    assert all(e["e_value"] < 1 / (e["weight"] * 0.01) for e in rec["evidence"] if e["weight"])
    assert "greedy_tokens" in rec["bounds"] and "token_logprobs" in rec["bounds"]


def test_b_bfloat16_is_within_16bit_numerics(tmp_path, bf16_server):
    rec = _run(tmp_path, bf16_server, "smollm2", "b_bfloat16")
    assert rec["verdict"] == "match", rec["headline"]
    assert rec["weights_relation"] == "same weights within 16bit numerics"
    assert not _ev(rec, "token_logprobs")["details"]["identical"]


def test_b_llama_cpp_serving_the_same_weights_is_not_accused(tmp_path, llama_cpp_server):
    """llama-cpp-python's own server (third party) on the Q4_1 file the reference was de-quantised from:
    the same weights through llama.cpp's kernels (8-bit activations). Its echo lists the next token's
    distribution at each position; the logprob test takes the alignment that fits."""
    rec = _run(tmp_path, llama_cpp_server, "smollm2", "b_llama_cpp_q4_1")
    assert rec["verdict"] == "match", rec["headline"]
    assert "numerics" in rec["weights_relation"]


def test_c_perturbed_weights_are_not_cleared(tmp_path, perturbed_server):
    """2% multiplicative weight noise moves each token's logprob by about 0.3 nats RMS: beyond 8-bit
    numerics, far inside what llama.cpp's Q4_0 of the same weights does (about 1 nat). Under the default
    tolerance (4-bit is honest) it is neither accused nor cleared; a buyer who pays for 16-bit serving
    (``tolerance="16bit"``) gets a mismatch."""
    rec = _run(tmp_path, perturbed_server, "smollm2-perturbed", "c_perturbed_2pct")
    assert rec["verdict"] == "inconclusive", rec["headline"]
    assert rec["weights_relation"] == "quantised or changed weights (beyond 8bit numerics)"
    strict = _run(
        tmp_path, perturbed_server, "smollm2-perturbed", "c_perturbed_2pct_16bit", tolerance="16bit"
    )
    assert strict["verdict"] == "mismatch" and strict["weights_relation"] == "different weights"
    assert "token_logprobs" in strict["rejected_by"]
    assert _ev(strict, "tokenizer_counts")["e_value"] < 10  # same tokenizer: the weights decided it


def test_d_different_model_and_tokenizer(tmp_path, tiny_server):
    rec = _run(tmp_path, tiny_server, "smollm2", "d_tiny_other_tokenizer")
    assert rec["verdict"] == "mismatch" and rec["weights_relation"] == "different weights"
    assert "tokenizer_counts" in rec["rejected_by"]
    assert rec["cost"]["requests"] < 40  # decided early, the rest never sent
    again = run_fingerprint(
        out_dir=tmp_path / "d_again", endpoint=tiny_server.base_url, model="smollm2", reference="smollm2",
        budget=BUDGET, progress=False,
    )  # fmt: skip
    strip = lambda r: {k: v for k, v in r.items() if k != "timing"}  # noqa: E731
    assert strip(again) == strip(rec)  # same inputs, same JSON (everything that varies is under timing)


def test_e_relay_deleting_claude_from_answers_only(tmp_path, reference_server):
    """The Reflection tell: the relay serves the claimed weights but deletes "Claude" from generated text;
    echoes are untouched (an exact echo says nothing about generated text). The output filter finds it."""
    from harness.testing.servers import serve_proxy

    with serve_proxy(
        reference_server.base_url, upstream_model="smollm2", served_model_name="smollm2",
        delete=["Claude"], spare_echo=True,
    ) as relay:  # fmt: skip
        rec = _run(tmp_path, relay, "smollm2", "e_relay_deleting_claude")
    assert rec["verdict"] == "mismatch", rec["headline"]
    assert rec["weights_relation"] == "relay rewrites text"
    f = _ev(rec, "output_filter")
    assert "Claude" in f["details"]["dropped_names"]
    assert _ev(rec, "echo_text")["e_value"] < 2  # the echo is exact


def test_f_whitespace_collapsing_relay_is_honest(tmp_path, reference_server):
    from harness.testing.servers import serve_proxy

    with serve_proxy(
        reference_server.base_url,
        upstream_model="smollm2",
        served_model_name="smollm2",
        collapse_whitespace=True,
    ) as relay:
        rec = _run(tmp_path, relay, "smollm2", "f_relay_collapsing_whitespace")
    assert rec["verdict"] != "mismatch", rec["headline"]
    assert _ev(rec, "echo_text")["e_value"] < 2


def test_zz_summary():
    """Accuracy and cost over the cases that ran (printed with -s; a failed case fails its own test)."""
    if not CASES:
        pytest.skip("no end-to-end case ran in this session")
    expected = {
        "a_reference": "match",
        "b_bfloat16": "match",
        "b_llama_cpp_q4_1": "match",
        "c_perturbed_2pct": "inconclusive",
        "c_perturbed_2pct_16bit": "mismatch",
        "d_tiny_other_tokenizer": "mismatch",
        "e_relay_deleting_claude": "mismatch",
        "f_relay_collapsing_whitespace": "match",
    }
    correct = sum(CASES[c]["verdict"] == expected[c] for c in CASES)
    tokens = sorted(c["tokens"] for c in CASES.values())
    print(
        json.dumps(
            {
                "accuracy": f"{correct}/{len(CASES)}",
                "median_tokens": tokens[len(tokens) // 2],
                "cases": CASES,
            },
            indent=1,
        )
    )
