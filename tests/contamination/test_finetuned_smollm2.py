"""Done-when evidence, small enough for CI: the real SmolLM2-135M-Instruct, fine-tuned on CPU on a few
GSM8K test items, is flagged and those items rank first; the same recipe on as many train items is not
flagged. Four items, four AdamW steps per fine-tune, six twins per item, likelihood tests only (no
generation), a short sample and the reference measured once (cached in-process) keep it small; the
larger run, with completions, is scripts/contamination_finetune_check.py."""

from __future__ import annotations

import numpy as np
import pytest

from harness.contamination.finetune import finetune, gsm8k_text
from harness.contamination.runner import run_contamination, select_rows
from harness.contamination.twins import make_twins
from harness.data import load_benchmark

pytestmark = pytest.mark.slow

SEED, SAMPLE, SEEN, TWINS = 11, 12, 4, 6


@pytest.fixture(scope="module")
def plan(smollm2_dir):
    test = load_benchmark("gsm8k")
    rows = select_rows(make_twins(test, seed=SEED, k=TWINS).rows, SAMPLE, SEED, "gsm8k")
    seen = sorted(int(r) for r in np.random.default_rng(SEED).choice(rows, size=SEEN, replace=False))
    train = load_benchmark("gsm8k", "train")
    train_rows = sorted(
        int(r) for r in np.random.default_rng(SEED).choice(len(train.rows), size=SEEN, replace=False)
    )
    recipe = {"epochs": 4, "lr": 4e-4, "batch_size": 4, "max_length": 256}
    return {
        "test": test,
        "seen_ids": {test.items[r].item_id for r in seen},
        "dirty": finetune(smollm2_dir, [gsm8k_text(test.rows[r]) for r in seen], name="ci-test", **recipe),
        "clean": finetune(
            smollm2_dir, [gsm8k_text(train.rows[r]) for r in train_rows], name="ci-train", **recipe
        ),
    }


def _run(model, tmp_path, smollm2_dir):
    return run_contamination(
        model=str(model),
        backend="hf",
        out_dir=tmp_path,
        benchmarks=["gsm8k"],
        sample=SAMPLE,
        seed=SEED,
        twins=TWINS,
        reference=str(smollm2_dir),
        tests=["likelihood"],
        progress=False,
    )["benchmarks"]["gsm8k"]


def test_finetuned_on_test_items_is_flagged_and_they_rank_first(plan, tmp_path, smollm2_dir):
    section = _run(plan["dirty"], tmp_path, smollm2_dir)
    assert section["calibration"] == "reference"
    assert section["verdict"] == "contaminated", section["verdict_detail"]
    ranked = [r["item_id"] for r in section["items"]]
    assert set(ranked[:SEEN]) == plan["seen_ids"]


def test_same_recipe_on_train_items_is_not_flagged(plan, tmp_path, smollm2_dir):
    section = _run(plan["clean"], tmp_path, smollm2_dir)
    assert section["verdict"] != "contaminated", section["verdict_detail"]
    assert section["p_value"] > 0.01
