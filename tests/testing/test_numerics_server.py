"""Other serving numerics compute the same function: chunked prefill and batch rows, in-process and served."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def tiny_model(tiny_same_tokenizer):
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(tiny_same_tokenizer.path).eval()


@pytest.mark.parametrize(("chunk", "rows"), [(3, 1), (None, 3), (2, 4)])
def test_serving_numerics_same_function(tiny_model, chunk, rows) -> None:
    import torch

    from harness.testing.numerics_server import ServingNumerics

    wrapped = ServingNumerics(tiny_model, prefill_chunk=chunk, batch_rows=rows, seed=1)
    ids = torch.tensor([[5, 9, 100, 7, 42, 8, 300]])
    with torch.inference_mode():
        plain = tiny_model(input_ids=ids, use_cache=True)
        served = wrapped(ids, use_cache=True)
        assert served.logits.shape == plain.logits.shape
        torch.testing.assert_close(served.logits, plain.logits, atol=1e-5, rtol=1e-5)
        nxt = torch.tensor([[11]])
        a = tiny_model(input_ids=nxt, past_key_values=plain.past_key_values, use_cache=True).logits
        b = wrapped(nxt, past_key_values=served.past_key_values, use_cache=True).logits
        torch.testing.assert_close(b, a, atol=1e-5, rtol=1e-5)
    assert wrapped.get_output_embeddings() is tiny_model.get_output_embeddings()


def test_serving_numerics_rejects_bad_settings(tiny_model) -> None:
    from harness.testing.numerics_server import ServingNumerics

    with pytest.raises(ValueError):
        ServingNumerics(tiny_model, prefill_chunk=0)
    with pytest.raises(ValueError):
        ServingNumerics(tiny_model, batch_rows=0)


@pytest.mark.slow
def test_numerics_server_behind_a_normalising_filtering_relay(tiny_same_tokenizer) -> None:
    """A real numerics server (chunked prefill, batch rows) and a real relay in front of it."""
    import httpx

    from harness.testing.numerics_server import serve_numerics
    from harness.testing.relays import RelayConfig, serve_relay

    prompt = "Hello  there,\n\n  Claude says hi."
    body = {
        "model": "smollm2",
        "prompt": prompt,
        "max_tokens": 3,
        "temperature": 0,
        "echo": True,
        "logprobs": 2,
    }
    cfg = RelayConfig(normalise="whitespace", delete_generated=("Claude",))
    with serve_numerics(
        str(tiny_same_tokenizer.path), served_model_name="up", prefill_chunk=4, batch_rows=2, threads=1
    ) as up:
        direct = httpx.post(up.base_url + "/completions", json=body | {"model": "up"}, timeout=120).json()
        with serve_relay(up.base_url, upstream_model="up", served_model_name="smollm2", config=cfg) as relay:
            relayed = httpx.post(relay.base_url + "/completions", json=body, timeout=120).json()
            chat_only = RelayConfig(api_mode="chat_logprobs")
            with serve_relay(
                up.base_url, upstream_model="up", served_model_name="smollm2", config=chat_only
            ) as r2:
                refused = httpx.post(r2.base_url + "/completions", json=body, timeout=60)
    text = direct["choices"][0]["text"]
    assert text.startswith(prompt)  # the upstream echoes exactly
    assert relayed["choices"][0]["text"].startswith(
        "Hello there,\nClaude says hi."
    )  # echo normalised, not filtered
    assert relayed["choices"][0]["logprobs"] == direct["choices"][0]["logprobs"]
    assert relayed["model"] == "smollm2"
    assert refused.status_code == 404
