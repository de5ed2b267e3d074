"""Evidence that `harness contamination` flags a contaminated model and clears a clean one.

SmolLM2-135M-Instruct is fine-tuned (AdamW, all weights, CPU) on half of the GSM8K test items that the
run will test (contaminated), and, with the same recipe, on as many GSM8K train items (clean). Both are
then tested with `run_contamination`, calibrated two ways at once: by the base model as reference
(deciding) and by twinned train-split control items (reported as `control_test`). The script prints,
per model: verdict, p-values, inflation estimate, where the fine-tuned items rank, and CPU/wall times.

    OMP_NUM_THREADS=1 python scripts/contamination_finetune_check.py --items 24 --twins 1 --out /tmp/evidence

Fine-tunes are cached under the harness home (models/contamination-evidence/). Results of a run are
written to OUT/summary.json; the figures quoted in docs/contamination.md come from this script.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--items", type=int, default=24, help="GSM8K test items tested per model")
    parser.add_argument("--twins", type=int, default=1)
    parser.add_argument("--seed", type=int, default=1234)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--tests", default="scores,likelihood,completion")
    parser.add_argument("--max-gen-toks", type=int, default=160)
    parser.add_argument("--n-shot", type=int, default=0)
    parser.add_argument(
        "--no-control", action="store_true", help="skip the control-split calibration (halves the cost)"
    )
    parser.add_argument("--out", type=Path, default=Path("contamination-evidence"))
    args = parser.parse_args()

    from harness.contamination.finetune import finetune, gsm8k_text, recipe_of
    from harness.contamination.runner import run_contamination, select_rows
    from harness.contamination.twins import make_twins
    from harness.data import load_benchmark

    test = load_benchmark("gsm8k")
    train = load_benchmark("gsm8k", "train")
    rows = select_rows(make_twins(test, seed=args.seed, k=args.twins).rows, args.items, args.seed, "gsm8k")
    rng = np.random.default_rng(args.seed)
    seen_rows = sorted(int(r) for r in rng.choice(rows, size=len(rows) // 2, replace=False))
    train_rows = sorted(int(r) for r in rng.choice(len(train.rows), size=len(seen_rows), replace=False))
    seen_ids = {test.items[r].item_id for r in seen_rows}

    models = {
        "contaminated (test items)": finetune(
            "smollm2",
            [gsm8k_text(test.rows[r]) for r in seen_rows],
            name="gsm8k-test",
            epochs=args.epochs,
            lr=args.lr,
        ),
        "clean (train items)": finetune(
            "smollm2",
            [gsm8k_text(train.rows[r]) for r in train_rows],
            name="gsm8k-train",
            epochs=args.epochs,
            lr=args.lr,
        ),
    }
    summary: dict = {
        "items": args.items,
        "twins": args.twins,
        "seed": args.seed,
        "fine_tuned_test_items": sorted(seen_ids),
        "models": {},
    }
    for label, path in models.items():
        recipe = recipe_of(path)
        started, cpu = time.monotonic(), time.process_time()
        record = run_contamination(
            model=str(path),
            backend="hf",
            out_dir=args.out / label.split()[0],
            benchmarks=["gsm8k"],
            sample=args.items,
            seed=args.seed,
            twins=args.twins,
            reference="smollm2",
            control=not args.no_control,
            tests=args.tests.split(","),
            n_shot=args.n_shot,
            gen_kwargs={"max_gen_toks": args.max_gen_toks},
            progress=True,
        )
        section = record["benchmarks"]["gsm8k"]
        ranked = [r["item_id"] for r in section.get("items", [])]
        ranks = sorted(ranked.index(i) + 1 for i in seen_ids if i in ranked)
        top = set(ranked[: len(seen_ids)])
        summary["models"][label] = {
            "verdict": section["verdict"],
            "p_value_reference": section.get("p_value"),
            "p_value_control": (section.get("control_test") or {}).get("p_value"),
            "p_value_uncalibrated": (section.get("uncalibrated_test") or {}).get("p_value"),
            "inflation_points": (section.get("inflation") or {}).get("points"),
            "inflation_ci_points": (section.get("inflation") or {}).get("ci_points"),
            "scores": {k: section.get("scores", {}).get(k) for k in ("original", "twins", "drop")},
            "reference_scores": {
                k: section.get("reference_scores", {}).get(k) for k in ("original", "twins", "drop")
            },
            "fine_tuned_items_ranks": ranks if "contaminated" in label else None,
            "fine_tuned_items_in_top_half": len(top & seen_ids) if "contaminated" in label else None,
            "finetune_cpu_s": recipe["cpu_s"],
            "finetune_wall_s": recipe["wall_s"],
            "test_cpu_s": round(time.process_time() - cpu, 1),
            "test_wall_s": round(time.monotonic() - started, 1),
            "reasons": section.get("verdict_detail", {}).get("reasons"),
        }
        print(json.dumps({label: summary["models"][label]}, indent=2), flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")


if __name__ == "__main__":
    main()
