"""Substitute builders: deterministic from their recipe, provenance recorded, the change is real."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.testing import substitutes


def test_training_texts_are_seeded_gsm8k_train() -> None:
    a = substitutes.training_texts(5, seed=1)
    assert a == substitutes.training_texts(5, seed=1) != substitutes.training_texts(5, seed=2)
    assert all("####" in t for t in a)  # GSM8K solutions end with '#### answer'
    with pytest.raises(ValueError):
        substitutes.training_texts(0)


@pytest.mark.slow
def test_finetune_is_deterministic_and_recorded(tiny_same_tokenizer, tmp_path: Path, monkeypatch) -> None:
    from harness.testing.artifacts import weights_digest

    src = tiny_same_tokenizer.path
    first = substitutes.finetune(src, optimizer="adamw", lr=1e-3, steps=2, n_texts=8, seed=3)
    monkeypatch.setenv("HARNESS_ZOO_DIR", str(tmp_path / "elsewhere"))
    second = substitutes.finetune(src, optimizer="adamw", lr=1e-3, steps=2, n_texts=8, seed=3)
    assert first.path != second.path
    assert first.files["model.safetensors"]["sha256"] == second.files["model.safetensors"]["sha256"]
    facts = first.provenance["facts"]
    assert len(facts["losses"]) == 2 and facts["relative_weight_change"] > 0
    assert first.provenance["recipe"]["inputs"]["source_weights"] == weights_digest(src)
    assert first.files["model.safetensors"]["sha256"] != weights_digest(src)
    sgd = substitutes.finetune(src, optimizer="sgd", lr=1e-3, steps=1, n_texts=8, seed=3)
    assert sgd.files["model.safetensors"]["sha256"] != first.files["model.safetensors"]["sha256"]
    assert (sgd.path / "tokenizer.json").is_file()  # served with the claimed tokenizer
    with pytest.raises(ValueError, match="optimizer"):
        substitutes.finetune(src, optimizer="lion")


def test_layer_removed_loads_and_differs(tiny_same_tokenizer) -> None:
    import torch
    from transformers import AutoModelForCausalLM

    art = substitutes.layer_removed(tiny_same_tokenizer.path, layer=0)
    assert art.provenance["facts"] == {"layers_before": 2, "layers_after": 1}
    pruned = AutoModelForCausalLM.from_pretrained(art.path)
    full = AutoModelForCausalLM.from_pretrained(tiny_same_tokenizer.path)
    assert pruned.config.num_hidden_layers == 1
    ids = torch.tensor([[1, 2, 3, 4]])
    with torch.no_grad():
        assert not torch.allclose(pruned(ids).logits, full(ids).logits)
        out = pruned(ids, use_cache=True)  # the KV cache works with the renumbered layer
        pruned(torch.tensor([[5]]), past_key_values=out.past_key_values, use_cache=True)
    with pytest.raises(ValueError, match="layer must be in"):
        substitutes.layer_removed(tiny_same_tokenizer.path, layer=7)
