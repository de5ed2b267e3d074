"""The zoo catalogue: stable, unique names, ground truth per endpoint, and selection."""

from __future__ import annotations

import pytest

from harness.testing.relays import RelayConfig
from harness.testing.zoo import HONEST_QUANTS, QUICK, Endpoint, ModelSpec, catalogue, select


def test_catalogue_covers_issue_13_classes() -> None:
    eps = catalogue()
    names = [e.name for e in eps]
    assert len(names) == len(set(names))
    honest = {e.klass for e in eps if e.honest}
    subs = {e.klass for e in eps if not e.honest}
    for klass in ("reference", "dtype", "serving-numerics", "quantisation", "text-handling", "llama.cpp"):
        assert klass in honest
    for klass in (
        "fine-tune (sgd)",
        "fine-tune (adamw)",
        "layer removed",
        "same tokenizer, other model",
        "other tokenizer",
        "word filter",
    ):
        assert klass in subs
    quants = {e.model.params.get("quant_type") for e in eps if e.model.kind == "quantised" and e.honest}
    assert set(HONEST_QUANTS) <= quants
    # Every honest endpoint serves the reference's weights (or a quantisation/conversion of them).
    assert all(e.model.kind in ("reference", "quantised", "f32_gguf") for e in eps if e.honest)
    # Every API mode is measured on honest endpoints and on a substitute.
    for mode in ("prompt_token_logprobs", "generated_logprobs", "chat_logprobs", "no_logprobs"):
        assert any(e.relay and e.relay.api_mode == mode for e in eps if e.honest)
        assert any(e.relay and e.relay.api_mode == mode for e in eps if not e.honest)
    # Word filters delete from generated text only: the echo stays exact.
    assert all(e.relay.delete_generated for e in eps if e.klass == "word filter")
    # Fine-tunes span one step to many, both optimisers.
    steps = {e.model.params["steps"] for e in eps if e.model.kind == "finetune"}
    assert min(steps) == 1 and max(steps) >= 40
    assert {e.model.params["optimizer"] for e in eps if e.model.kind == "finetune"} == {"sgd", "adamw"}


def test_endpoint_validation() -> None:
    with pytest.raises(ValueError, match="GGUF"):
        Endpoint("x", True, "k", ModelSpec("reference"), "llama_cpp")
    with pytest.raises(ValueError, match="GGUF"):
        Endpoint("x", True, "k", ModelSpec("quantised", {"quant_type": "Q8_0"}), "transformers")
    with pytest.raises(ValueError, match="server"):
        Endpoint("x", True, "k", ModelSpec("reference"), "vllm")
    ep = Endpoint("x", True, "k", ModelSpec("reference"), relay=RelayConfig(normalise="whitespace"))
    assert ep.to_dict()["relay"]["normalise"] == "whitespace"


def test_select() -> None:
    assert [e.name for e in select(quick=True)] == [e.name for e in catalogue() if e.name in QUICK]
    assert len(select(quick=True)) == len(QUICK)
    assert {e.name for e in select(["llama.cpp-Q4_*"])} >= {
        "llama.cpp-Q4_K_M",
        "llama.cpp-Q4_0",
        "llama.cpp-Q4_1",
    }
    assert [e.name for e in select(["fp32"])] == ["fp32"]
    assert [e.name for e in select(["other-tokenizer", "fp32", "fp3*"])][:2] == ["other-tokenizer", "fp32"]
    with pytest.raises(ValueError, match="no zoo endpoint"):
        select(["gpt-4"])
