"""Substitutes: models an endpoint might serve while claiming the reference, built offline from it.

Each builder returns a cached ``Artifact`` (a ``save_pretrained`` directory with the claimed model's or
its own tokenizer) whose recipe (optimiser, learning rate, steps, seed, texts) and facts (training
losses, the parameter change) are in its provenance, so "caught a 3-step AdamW fine-tune" names one
fixed model. The classes follow issue 13's list:

* ``finetune``: SGD or AdamW steps of next-token loss on GSM8K *train* problems (never test items),
  from one step to many: the hard, realistic substitute (a "fine-tune" announced as the base, or the
  base announced as a fine-tune).
* ``layer_removed``: one decoder layer dropped (a cheap pruned copy).
* ``random_init_same_tokenizer``: another Llama with the claimed tokenizer and random weights.
* ``trained_tiny_same_tokenizer``: a small Llama trained from scratch on GSM8K train text with the
  claimed tokenizer: a real, different model that shares the tokenizer, so tokenizer probes cannot tell.
* ``other_tokenizer``: a tiny Llama with its own BPE tokenizer (``harness.testing.variants.tiny_llama``).
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from harness.testing.artifacts import Artifact, Recipe, build_cached, weights_digest

OPTIMIZERS = ("sgd", "adamw")


def training_texts(n: int, *, seed: int = 0) -> list[str]:
    """``n`` GSM8K train problems with their solutions, drawn without replacement by ``seed``."""
    from harness.data import load_benchmark

    rows = load_benchmark("gsm8k", "train").rows
    if not 0 < n <= len(rows):
        raise ValueError(f"n must be in [1, {len(rows)}], got {n}")
    picks = random.Random(seed).sample(range(len(rows)), n)
    return [rows[i]["question"] + "\n" + rows[i]["answer"] for i in picks]


def _load_float32(model_dir: Path):
    import torch
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)


def _save(model, tokenizer_src: Path, out: Path) -> None:
    from transformers import AutoTokenizer

    model.save_pretrained(out)
    AutoTokenizer.from_pretrained(tokenizer_src).save_pretrained(out)


def _relative_change(before: dict, model) -> float:
    """sqrt(sum ||w' - w||^2 / sum ||w||^2) over all parameters: the size of a weight change."""
    num = den = 0.0
    for name, p in model.state_dict().items():
        w = before[name]
        num += float(((p.double() - w.double()) ** 2).sum())
        den += float((w.double() ** 2).sum())
    return (num / den) ** 0.5 if den else 0.0


def finetune(
    model_dir: Path,
    *,
    optimizer: str = "adamw",
    lr: float = 1e-4,
    steps: int = 1,
    seed: int = 0,
    batch_size: int = 4,
    max_length: int = 128,
    n_texts: int = 64,
) -> Artifact:
    """``model_dir`` after ``steps`` optimiser steps of causal-LM loss on GSM8K train problems.

    ``optimizer``: ``sgd`` (no momentum) or ``adamw`` (torch defaults: betas (0.9, 0.999), weight decay
    0.01). Batches cycle through ``n_texts`` problems drawn by ``seed``; dropout is off in this
    architecture, so the result depends only on the recipe (and torch's float32 kernels).
    """
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {optimizer!r}")
    if steps < 1 or lr <= 0 or batch_size < 1:
        raise ValueError("finetune needs steps >= 1, lr > 0 and batch_size >= 1")
    model_dir = Path(model_dir)
    params = {
        "optimizer": optimizer,
        "lr": lr,
        "steps": steps,
        "seed": seed,
        "batch_size": batch_size,
        "max_length": max_length,
        "texts": f"gsm8k/train, {n_texts} problems drawn with seed {seed}",
    }
    recipe = Recipe("finetune", params, inputs={"source_weights": weights_digest(model_dir)})

    def build(out: Path) -> dict[str, Any]:
        import torch
        from transformers import AutoTokenizer

        texts = training_texts(n_texts, seed=seed)
        tok = AutoTokenizer.from_pretrained(model_dir)
        if tok.pad_token is None:
            tok.pad_token = tok.eos_token
        torch.manual_seed(seed)
        model = _load_float32(model_dir)
        before = {k: v.detach().clone() for k, v in model.state_dict().items()}
        model.train()
        opt = (
            torch.optim.SGD(model.parameters(), lr=lr)
            if optimizer == "sgd"
            else torch.optim.AdamW(model.parameters(), lr=lr)
        )
        losses = []
        for step in range(steps):
            start = (step * batch_size) % len(texts)
            batch = [texts[(start + i) % len(texts)] for i in range(batch_size)]
            enc = tok(batch, return_tensors="pt", padding=True, truncation=True, max_length=max_length)
            labels = enc["input_ids"].clone()
            labels[enc["attention_mask"] == 0] = -100
            loss = model(**enc, labels=labels).loss
            loss.backward()
            opt.step()
            opt.zero_grad()
            losses.append(round(float(loss.detach()), 4))
        model.eval()
        change = _relative_change(before, model)
        _save(model, model_dir, out)
        return {"losses": losses, "relative_weight_change": float(f"{change:.4g}")}

    return build_cached(recipe, build)


def layer_removed(model_dir: Path, *, layer: int) -> Artifact:
    """``model_dir`` with decoder layer ``layer`` deleted (the rest of the weights untouched)."""
    model_dir = Path(model_dir)
    recipe = Recipe("layer-removed", {"layer": layer}, inputs={"source_weights": weights_digest(model_dir)})

    def build(out: Path) -> dict[str, Any]:
        import torch

        model = _load_float32(model_dir)
        layers = model.model.layers
        if not 0 <= layer < len(layers):
            raise ValueError(f"layer must be in [0, {len(layers)}), got {layer}")
        kept = [m for i, m in enumerate(layers) if i != layer]
        for i, m in enumerate(kept):  # attention modules know their index (KV-cache slot)
            if hasattr(m, "self_attn") and hasattr(m.self_attn, "layer_idx"):
                m.self_attn.layer_idx = i
        model.model.layers = torch.nn.ModuleList(kept)
        model.config.num_hidden_layers = len(kept)
        if getattr(model.config, "layer_types", None):
            model.config.layer_types = [t for i, t in enumerate(model.config.layer_types) if i != layer]
        _save(model, model_dir, out)
        return {"layers_before": len(layers), "layers_after": len(kept)}

    return build_cached(recipe, build)


def _small_llama_config(tokenizer, *, hidden: int, layers: int, heads: int, initializer_range: float):
    from transformers import LlamaConfig

    return LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden,
        intermediate_size=hidden * 4,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        num_key_value_heads=max(1, heads // 2),
        max_position_embeddings=8192,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id,
        tie_word_embeddings=True,
        initializer_range=initializer_range,
    )


def random_init_same_tokenizer(
    model_dir: Path, *, seed: int = 0, hidden: int = 128, layers: int = 4, initializer_range: float = 0.02
) -> Artifact:
    """A small Llama with ``model_dir``'s tokenizer (and chat template) and random weights."""
    model_dir = Path(model_dir)
    params = {"seed": seed, "hidden": hidden, "layers": layers, "initializer_range": initializer_range}
    recipe = Recipe("random-init-same-tokenizer", params, inputs={"tokenizer_of": weights_digest(model_dir)})

    def build(out: Path) -> dict[str, Any]:
        import torch
        from transformers import AutoTokenizer, LlamaForCausalLM

        tok = AutoTokenizer.from_pretrained(model_dir)
        torch.manual_seed(seed)
        model = LlamaForCausalLM(
            _small_llama_config(
                tok, hidden=hidden, layers=layers, heads=4, initializer_range=initializer_range
            )
        )
        _save(model, model_dir, out)
        return {"parameters": sum(p.numel() for p in model.parameters())}

    return build_cached(recipe, build)


def trained_tiny_same_tokenizer(
    model_dir: Path,
    *,
    steps: int = 300,
    seed: int = 0,
    hidden: int = 128,
    layers: int = 4,
    lr: float = 3e-3,
    batch_size: int = 8,
    max_length: int = 128,
    n_texts: int = 2000,
) -> Artifact:
    """A small Llama trained from scratch (AdamW) on GSM8K train text with ``model_dir``'s tokenizer."""
    model_dir = Path(model_dir)
    params = {
        "steps": steps,
        "seed": seed,
        "hidden": hidden,
        "layers": layers,
        "lr": lr,
        "batch_size": batch_size,
        "max_length": max_length,
        "texts": f"gsm8k/train, {n_texts} problems drawn with seed {seed}",
    }
    recipe = Recipe("trained-tiny-same-tokenizer", params, inputs={"tokenizer_of": weights_digest(model_dir)})

    def build(out: Path) -> dict[str, Any]:
        import torch
        from transformers import AutoTokenizer, LlamaForCausalLM

        tok = AutoTokenizer.from_pretrained(model_dir)
        if tok.pad_token is None:
            tok.pad_token = tok.eos_token
        texts = training_texts(n_texts, seed=seed)
        torch.manual_seed(seed)
        model = LlamaForCausalLM(
            _small_llama_config(tok, hidden=hidden, layers=layers, heads=4, initializer_range=0.02)
        )
        opt = torch.optim.AdamW(model.parameters(), lr=lr)
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / 20))
        model.train()
        losses = []
        for step in range(steps):
            start = (step * batch_size) % len(texts)
            batch = [texts[(start + i) % len(texts)] for i in range(batch_size)]
            enc = tok(batch, return_tensors="pt", padding=True, truncation=True, max_length=max_length)
            labels = enc["input_ids"].clone()
            labels[enc["attention_mask"] == 0] = -100
            loss = model(**enc, labels=labels).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            opt.zero_grad()
            losses.append(round(float(loss.detach()), 3))
        model.eval()
        _save(model, model_dir, out)
        return {
            "parameters": sum(p.numel() for p in model.parameters()),
            "loss_first": losses[0],
            "loss_last_10_mean": round(sum(losses[-10:]) / len(losses[-10:]), 3),
        }

    return build_cached(recipe, build)


def other_tokenizer(*, seed: int = 0, vocab_size: int = 1024, n_texts: int = 2000) -> Artifact:
    """A tiny Llama with its own byte-level BPE tokenizer (trained on GSM8K train text), random weights."""
    params = {
        "seed": seed,
        "vocab_size": vocab_size,
        "texts": f"gsm8k/train, {n_texts} drawn with seed {seed}",
    }
    recipe = Recipe("other-tokenizer", params)

    def build(out: Path) -> dict[str, Any]:
        from harness.testing.variants import tiny_llama

        tiny_llama(
            out,
            texts=training_texts(n_texts, seed=seed),
            vocab_size=vocab_size,
            seed=seed,
            initializer_range=1.0,
        )
        return {}

    return build_cached(recipe, build)
