"""False-accusation rate of `harness verify`'s verdicts on honest claims, with exact confidence bounds.

An honest claim is the model's true accuracy on the benchmark (the worst honest case for the shortfall
test is a claim exactly tolerance-points above the truth, also run). Each trial draws per-item scores
from that truth, runs the same verdict code as `harness verify` (`verdict.judge_claims`), and counts
accusing verdicts (`below claim`, `implausible`). Optional stopping: a "peeking" trial scores 100 items,
then 200, 400, ... up to n, and stops at the first accusation, which is what a user growing `--sample`
after each look does (the samples are nested). The rate is reported with its Clopper-Pearson 95% upper
bound (scipy's exact binomial interval).

    python scripts/verify_false_alarms.py [--trials 2000] [--seed 1]

Prints one Markdown table (docs/verify.md quotes it).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from scipy import stats

from harness.verify.ceilings import label_error_ceiling
from harness.verify.statistics import measure
from harness.verify.verdict import ACCUSING, ClaimInput, judge_claims

CASES = [  # benchmark, true accuracy, test-set size
    ("gsm8k", 0.968, 1319),  # Llama 3.1 405B Instruct's published GSM8K
    ("gsm8k", 0.95, 1319),
    ("arc_challenge", 0.60, 1172),
    ("arc_easy", 0.90, 2376),
    ("hellaswag", 0.85, 10042),
]


def accused(benchmark: str, claimed: float, scores: np.ndarray) -> bool:
    claim = ClaimInput(
        benchmark, claimed, decimals=1, measurement=measure(scores), ceiling=label_error_ceiling(benchmark)
    )
    return judge_claims([claim]).judgements[0].verdict.label in ACCUSING


def upper_bound(k: int, n: int) -> float:
    return float(stats.binomtest(k, n).proportion_ci(0.95, method="exact").high)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    t0, c0 = time.monotonic(), time.process_time()
    print(
        "| benchmark | true accuracy | claim | items | looks | accusations / trials | rate | 95% upper bound |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for benchmark, truth, n in CASES:
        for claim_offset, label in ((0.0, "the truth"), (0.03, "truth + 3 points")):
            claimed = round(truth + claim_offset, 3)
            if claimed > 1.0:
                continue
            for peeking in (False, True):
                hits = 0
                for _ in range(args.trials):
                    scores = (rng.random(n) < truth).astype(float)
                    looks = (
                        [m for m in (100, 200, 400, 800, 1600, 3200, 6400) if m < n] + [n] if peeking else [n]
                    )
                    hits += any(accused(benchmark, claimed, scores[:m]) for m in looks)
                print(
                    f"| {benchmark} | {100 * truth:.1f}% | {100 * claimed:.1f}% ({label}) | {n} | "
                    f"{'100, 200, 400, … n' if peeking else 'n'} | {hits} / {args.trials} | "
                    f"{hits / args.trials:.4f} | {upper_bound(hits, args.trials):.4f} |"
                )
    print(f"\n{time.monotonic() - t0:.0f} s wall, {time.process_time() - c0:.0f} s CPU")


if __name__ == "__main__":
    main()
