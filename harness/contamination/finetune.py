"""Contaminate a model on purpose: the recipe behind the evidence that the tests flag what they should.

A detector of contamination is only as credible as the cases it was checked on. This builds them from
the real SmolLM2-135M-Instruct: a copy fine-tuned on some GSM8K *test* items (contaminated) and a copy
fine-tuned with exactly the same recipe on as many GSM8K *train* items (clean with respect to the test
set; it has seen GSM8K-style text just as much). The items are written as lm-eval's GSM8K prompt and
target ("Question: ...\\nAnswer: ..."), the form a benchmark leaks in. Built once and cached under the
harness home (never in git), keyed by the recipe, with the recipe and its CPU time recorded next to it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from harness.paths import models_dir

RECIPE_FILE = "harness_finetune.json"


def gsm8k_text(row: dict[str, Any]) -> str:
    """An item as lm-eval's GSM8K task shows it, with its worked answer."""
    return f"Question: {row['question']}\nAnswer: {row['answer']}"


def finetune(
    base: str | Path,
    texts: Sequence[str],
    *,
    name: str,
    epochs: int = 4,
    lr: float = 1e-4,
    batch_size: int = 4,
    max_length: int = 384,
    seed: int = 0,
) -> Path:
    """A causal-LM fine-tune (AdamW, all weights) of ``base`` on ``texts``, cached by recipe."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from harness.models.smollm2 import resolve_model_path

    base_path = Path(resolve_model_path(str(base)))
    recipe = {
        "base": str(base_path),
        "texts_sha256": hashlib.sha256("\x00".join(texts).encode()).hexdigest(),
        "texts": len(texts),
        "epochs": epochs,
        "lr": lr,
        "batch_size": batch_size,
        "max_length": max_length,
        "seed": seed,
        "optimizer": "AdamW",
    }
    key = hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()[:16]
    final = models_dir() / "contamination-evidence" / f"{name}-{key}"
    if (final / RECIPE_FILE).is_file():
        return final
    final.parent.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    tok = AutoTokenizer.from_pretrained(base_path)
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    model = AutoModelForCausalLM.from_pretrained(base_path, dtype=torch.float32)
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0)
    order = torch.Generator().manual_seed(seed)
    started, cpu = time.monotonic(), time.process_time()
    losses = []
    for _ in range(epochs):
        perm = torch.randperm(len(texts), generator=order).tolist()
        for start in range(0, len(perm), batch_size):
            batch = [texts[i] + (tok.eos_token or "") for i in perm[start : start + batch_size]]
            enc = tok(batch, return_tensors="pt", padding=True, truncation=True, max_length=max_length)
            labels = enc["input_ids"].clone()
            labels[enc["attention_mask"] == 0] = -100
            loss = model(**enc, labels=labels).loss
            loss.backward()
            opt.step()
            opt.zero_grad()
            losses.append(round(float(loss.detach()), 4))
    model.eval()
    tmp = Path(tempfile.mkdtemp(prefix=".building-", dir=final.parent))
    try:
        model.save_pretrained(tmp)
        tok.save_pretrained(tmp)
        record = {
            **recipe,
            "steps": len(losses),
            "first_loss": losses[0],
            "last_loss": losses[-1],
            "cpu_s": round(time.process_time() - cpu, 1),
            "wall_s": round(time.monotonic() - started, 1),
            "torch_threads": torch.get_num_threads(),
        }
        (tmp / RECIPE_FILE).write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return final


def recipe_of(path: str | Path) -> dict[str, Any]:
    return json.loads((Path(path) / RECIPE_FILE).read_text())
