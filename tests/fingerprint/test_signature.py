"""A reference signature: computed once where the weights are, then used with no weights at all."""

from __future__ import annotations

import pytest

from harness.fingerprint import run_fingerprint
from harness.fingerprint.reference import ReferenceError, load_reference

pytestmark = pytest.mark.slow


def test_signature_holds_no_weights_and_serves_the_same_results(tiny_signature, tiny_dir):
    sig = load_reference(tiny_signature)
    local = load_reference(tiny_dir)
    assert sig.kind == "signature" and not sig.has_weights and sig.can_generate
    assert not any(p.suffix in (".safetensors", ".bin") for p in tiny_signature.iterdir())
    assert sig.calibration() == local.calibration()
    item = sig.draw("natural", 0, 1)[0]
    ids = sig.encode(item.text)
    assert sig.token_logprobs(ids) == pytest.approx(local.token_logprobs(ids), abs=1e-4)
    p = sig.prompt_ids(sig.draw("prompt", 0, 1)[0].text, False)
    assert sig.greedy(p, 16).ids == local.greedy(p, 16).ids
    with pytest.raises(ReferenceError, match="no greedy path"):
        sig.greedy([1, 2, 3], 16)


def test_fingerprint_from_a_signature(tmp_path, tiny_signature, tiny_server):
    rec = run_fingerprint(
        out_dir=tmp_path, endpoint=tiny_server.base_url, model="smollm2", reference=tiny_signature,
        budget=120, progress=False, seed=1,
    )  # fmt: skip
    assert rec["reference"]["kind"] == "signature"
    assert rec["verdict"] == "match", rec["headline"]
    assert {"greedy_tokens", "token_logprobs", "output_filter"} <= set(rec["family"])
