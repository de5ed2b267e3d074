"""Every API mode gets the test it allows: chat without logprobs (greedy only), prompt token logprobs
without top-k, generated-token logprobs (chat), and a tokenizer-only reference."""

from __future__ import annotations

import pytest

from harness.fingerprint import run_fingerprint

pytestmark = pytest.mark.slow


def _ev(rec, name):
    return next(e for e in rec["evidence"] if e["name"] == name)


def _fp(tmp_path, handle, **kw):
    kw.setdefault("budget", 120)
    return run_fingerprint(
        out_dir=tmp_path, endpoint=handle.base_url, model="smollm2", reference="smollm2", progress=False, **kw
    )


@pytest.fixture(scope="module")
def chat_without_logprobs(reference_server):
    from harness.testing.servers import serve_proxy

    with serve_proxy(
        reference_server.base_url, upstream_model="smollm2", served_model_name="smollm2", strip_logprobs=True
    ) as relay:
        yield relay


def test_chat_without_logprobs_is_tested_by_greedy_agreement(tmp_path, chat_without_logprobs):
    """Most commercial APIs: chat, no logprobs. The greedy test runs and a match states its bound."""
    rec = _fp(tmp_path, chat_without_logprobs, chat=True)
    assert rec["capabilities"]["mode"] == "chat"
    assert "token_logprobs" not in rec["family"] and "greedy_tokens" in rec["family"]
    assert rec["verdict"] == "match", rec["headline"]
    assert "departs from the reference's" in rec["bounds"]["greedy_tokens"]
    assert "relay deleting vendor names" in rec["bounds"]["output_filter"]  # what the match could miss


def test_chat_without_logprobs_finds_the_reflection_filter(tmp_path, reference_server):
    """The Reflection case as most users meet it: a chat API, no logprobs, a relay deleting "Claude" from
    answers. Copy lists go out only where the reference's own copy names a vendor (a small chat model
    often answers a copy request with something else), so the filter is seen, not cleared as a match."""
    from harness.testing.servers import serve_proxy

    with serve_proxy(
        reference_server.base_url, upstream_model="smollm2", served_model_name="smollm2",
        strip_logprobs=True, delete=["Claude"],
    ) as relay:  # fmt: skip
        rec = _fp(tmp_path, relay, chat=True)
    f = _ev(rec, "output_filter")
    assert rec["verdict"] == "mismatch", rec["headline"]
    assert rec["weights_relation"] == "relay rewrites text"
    assert "Claude" in f["details"]["dropped_names"]
    for items, ref_copy in zip(f["details"]["lists"], f["details"]["reference_copies"], strict=True):
        assert any(v in ref_copy for v in items if v[0].isupper()), (items, ref_copy)


def test_chat_without_logprobs_does_not_clear_other_weights(tmp_path, perturbed_server):
    from harness.testing.servers import serve_proxy

    with serve_proxy(
        perturbed_server.base_url, upstream_model="smollm2-perturbed", served_model_name="smollm2",
        strip_logprobs=True,
    ) as relay:  # fmt: skip
        rec = _fp(tmp_path, relay, chat=True, tolerance="16bit")
    # 2% weight noise moves confident greedy tokens in a few prompts: enough to refuse a match, not
    # always enough to accuse from 16 greedy prompts alone
    assert rec["verdict"] != "match", rec["headline"]
    assert rec["verdict"] == "mismatch" or "beyond 16bit" in rec["weights_relation"]
    assert _ev(rec, "greedy_tokens")["details"]["tiers"]["16bit"]["departures"] >= 1


def test_prompt_token_logprobs_without_top_k(tmp_path, perturbed_server):
    """v1's blind spot: echo returns each prompt token's logprob but no top-k. The per-token difference
    needs only the chosen token's logprob."""
    from harness.testing.servers import serve_proxy

    with serve_proxy(
        perturbed_server.base_url, upstream_model="smollm2-perturbed", served_model_name="smollm2",
        strip_top_logprobs=True,
    ) as relay:  # fmt: skip
        rec = _fp(tmp_path, relay, tolerance="16bit")
    assert rec["capabilities"]["echo_logprobs"]
    lp = _ev(rec, "token_logprobs")
    assert lp["details"]["alignment"] == ["standard"]
    assert rec["verdict"] == "mismatch", rec["headline"]


def test_chat_with_generated_token_logprobs(tmp_path, reference_server):
    rec = _fp(tmp_path, reference_server, chat=True)
    assert rec["capabilities"]["mode"] == "chat" and rec["capabilities"]["chat_logprobs"]
    lp = _ev(rec, "token_logprobs")
    assert "generated tokens" in lp["measured"] and lp["details"]["identical"]
    assert rec["verdict"] == "match" and rec["weights_relation"] == "identical", rec["headline"]
    counts = _ev(rec, "tokenizer_counts")
    assert counts["details"]["base_offset"] == 0  # no hidden system prompt


def test_tokenizer_only_reference_can_only_speak_about_the_tokenizer(tmp_path, tiny_server, tiny_dir):
    import shutil

    tok_only = tmp_path / "tokenizer-only"
    tok_only.mkdir()
    for f in tiny_dir.iterdir():
        if f.name.startswith(("tokenizer", "special_tokens", "chat_template")):
            shutil.copy2(f, tok_only / f.name)
    rec = run_fingerprint(
        out_dir=tmp_path / "out", endpoint=tiny_server.base_url, model="smollm2", reference=tok_only,
        budget=60, progress=False,
    )  # fmt: skip
    assert rec["verdict"] == "inconclusive" and "only a tokenizer" in rec["headline"]
    assert "greedy_tokens" not in rec["family"]
    assert _ev(rec, "tokenizer_counts")["e_value"] < 10
