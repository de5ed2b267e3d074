"""False alarms of `harness contamination` on a model that has not seen the test items, over many seeds.

Each seed draws a different sample of GSM8K test items and different twins; the model is loaded once.
The script counts `contaminated` verdicts and prints the false-alarm rate with an exact (Clopper-
Pearson) 95% upper bound, and the p-values (uniform-ish under the null; many small ones would be a
warning even without a verdict).

    OMP_NUM_THREADS=1 python scripts/contamination_null_check.py --model smollm2 --seeds 10 --items 16
    OMP_NUM_THREADS=1 python scripts/contamination_null_check.py --model PATH --reference smollm2 --seeds 10

Without --reference the GSM8K verdict is calibrated by twinned train-split control items.
The tests are fixed-sample (one test per run, no peeking), so the level holds for each run as designed.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from scipy import stats


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", default="smollm2")
    parser.add_argument("--reference", default=None)
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--first-seed", type=int, default=100)
    parser.add_argument("--items", type=int, default=16)
    parser.add_argument("--twins", type=int, default=2)
    parser.add_argument("--tests", default="likelihood")
    parser.add_argument("--alpha", type=float, default=0.01)
    parser.add_argument("--out", type=Path, default=Path("contamination-null"))
    args = parser.parse_args()

    from harness.contamination.probes import LmEvalProbe
    from harness.contamination.runner import Subject, run_contamination
    from harness.models.backends import backend_spec
    from harness.verify.runner import _build_model

    def subject(path: str) -> Subject:
        spec = backend_spec("hf", path)
        lm = _build_model(spec)
        return Subject(lm, LmEvalProbe(lm, backend="hf", loglikelihood=True), spec, False)

    model = subject(args.model)
    reference = subject(args.reference) if args.reference else None
    runs = []
    cpu0, wall0 = time.process_time(), time.monotonic()
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        record = run_contamination(
            model=args.model,
            backend="hf",
            out_dir=args.out / f"seed{seed}",
            benchmarks=["gsm8k"],
            sample=args.items,
            seed=seed,
            twins=args.twins,
            reference=args.reference,
            tests=args.tests.split(","),
            alpha=args.alpha,
            subjects=(model, reference),
            progress=False,
        )
        section = record["benchmarks"]["gsm8k"]
        runs.append({"seed": seed, "verdict": section["verdict"], "p_value": section.get("p_value")})
        print(json.dumps(runs[-1]), flush=True)
    alarms = sum(r["verdict"] == "contaminated" for r in runs)
    upper = float(stats.beta.ppf(0.95, alarms + 1, len(runs) - alarms)) if alarms < len(runs) else 1.0
    summary = {
        "model": args.model,
        "reference": args.reference,
        "calibration": "reference" if args.reference else "control",
        "runs": len(runs),
        "false_alarms": alarms,
        "false_alarm_rate_upper_95": round(upper, 4),
        "alpha": args.alpha,
        "p_values": [r["p_value"] for r in runs],
        "cpu_s": round(time.process_time() - cpu0, 1),
        "wall_s": round(time.monotonic() - wall0, 1),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
