"""The other paths through a run, on tiny models (fast): chat-only logprobs, and sampled outputs when a
relay strips logprobs (the two-sample test must reject a different model and must not reject the same)."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.fingerprint import run_fingerprint

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def tiny_other_dir(tmp_path_factory) -> Path:
    """Same architecture and tokenizer as ``tiny_dir`` (same training text), other random weights."""
    from harness.models.variants import tiny_llama

    from .conftest import gsm8k_train_texts

    return tiny_llama(
        tmp_path_factory.mktemp("tiny-other"),
        texts=gsm8k_train_texts(2000),
        vocab_size=1024,
        seed=1,
        initializer_range=1.0,
    )


@pytest.fixture(scope="module")
def stripping_relay(tiny_server):
    from harness.models.server_process import serve_proxy

    with serve_proxy(
        tiny_server.base_url, upstream_model="smollm2", served_model_name="tiny", strip_logprobs=True
    ) as relay:
        yield relay


def _ev(rec, name):
    return next(e for e in rec["evidence"] if e["name"] == name)


def test_chat_only_fingerprint_uses_generated_token_logprobs(tmp_path, reference_server):
    """Forced through /chat/completions: template-differenced token counts, chat truncation, and the
    logprobs of generated tokens. The budget (41) stops it after the log-probability probe's final look."""
    rec = run_fingerprint(
        out_dir=tmp_path,
        endpoint=reference_server.base_url,
        model="smollm2",
        reference="smollm2",
        budget=41,
        chat=True,
        progress=False,
    )
    assert rec["capabilities"]["mode"] == "chat" and rec["verdict"] == "match", rec["headline"]
    lp = _ev(rec, "logprob_probe")
    assert "generated tokens" in lp["measured"] and lp["details"]["relation"] == "identical"
    assert "coherent-drift test" in lp["details"]["notes"][0]
    counts = _ev(rec, "token_count_probe")
    assert counts["details"]["chat"] is True and counts["supports"] == "match"
    assert counts["details"]["base_offset"] == 0  # no hidden system prompt


def test_same_model_behind_a_stripping_relay_is_inconclusive(tmp_path, stripping_relay, tiny_dir):
    rec = run_fingerprint(
        out_dir=tmp_path,
        endpoint=stripping_relay.base_url,
        model="tiny",
        reference=tiny_dir,
        budget=80,
        progress=False,
        seed=3,
    )
    assert rec["verdict"] == "inconclusive" and rec["status"] == "flagged"
    mmd = _ev(rec, "two_sample_test")
    assert mmd["supports"] == "neutral" and mmd["p_value"] > 0.01
    assert "no difference detected" in mmd["statistic"] and "cannot prove equality" in rec["headline"]
    assert _ev(rec, "greedy_agreement")["supports"] == "match"


def test_other_weights_behind_a_stripping_relay_fail_the_two_sample_test(
    tmp_path, stripping_relay, tiny_other_dir
):
    rec = run_fingerprint(
        out_dir=tmp_path,
        endpoint=stripping_relay.base_url,
        model="tiny",
        reference=tiny_other_dir,
        budget=80,
        progress=False,
        seed=3,
    )
    assert rec["verdict"] == "mismatch", rec["headline"]
    mmd = _ev(rec, "two_sample_test")
    assert mmd["decisive"] and mmd["p_value"] < 0.01
    assert (
        _ev(rec, "token_count_probe")["supports"] == "match"
    )  # same tokenizer: only sampling told them apart


def test_tokenizer_only_reference_can_only_speak_about_the_tokenizer(tmp_path, tiny_server, tiny_dir):
    import shutil

    tok_only = tmp_path / "tokenizer-only"
    tok_only.mkdir()
    for f in tiny_dir.iterdir():
        if f.name.startswith(("tokenizer", "special_tokens", "chat_template")):
            shutil.copy2(f, tok_only / f.name)
    rec = run_fingerprint(
        out_dir=tmp_path / "out",
        endpoint=tiny_server.base_url,
        model="smollm2",
        reference=tok_only,
        budget=60,
        progress=False,
    )
    assert rec["verdict"] == "inconclusive" and "only a tokenizer" in rec["headline"]
    assert _ev(rec, "token_count_probe")["supports"] == "match"
    assert {s["probe"] for s in rec["skipped"]} >= {"logprob_probe", "two_sample_test"}
