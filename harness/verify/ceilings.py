"""Plausibility ceilings: the highest score a benchmark's *demonstrated* label errors allow.

An honest model that answers every question correctly still loses the questions whose answer key an
audit showed to be wrong, or that have no correct answer at all: it matches such a key only by sharing
the key's mistake or by having memorised it. Everything else gets full credit, however doubtful:
questions with several defensible answers, unclear wording, questions the auditors could not settle,
and questions an audit removed as "poorly written" without showing that no reading gives the key. So

    ceiling = 1 - (demonstrated wrong keys + questions with no correct answer) / test-set size.

This is deliberately generous to the claimant: ``implausible`` is an accusation, and a ceiling that an
honest frontier result can cross is worthless (an earlier version, which charged ambiguous questions
as coin flips, called Meta's published GSM8K 96.8 for Llama 3.1 405B Instruct implausible).

Where the audit covered only a sample (MMLU-Redux: 100 questions per subject), the share of hard errors
is a directly standardised rate, and its lower confidence bound is Fay & Feuer's gamma bound (1997,
"Confidence intervals for directly standardized rates: a method based on the gamma distribution",
Statistics in Medicine 16(7)), which treats each subject's count as Poisson: wider than the binomial or
hypergeometric truth, so the bound errs towards the claimant. ``value_high`` is the one-sided upper
confidence bound of the ceiling at 1 - alpha; ``ceiling_test`` gives the p-value of "the claim is at or
below the true ceiling", which the verdict layer corrects for the family of claims in one file.
Derivations with the sources' numbers: docs/verify.md, "Ceilings".
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from typing import Any

from scipy import stats

from harness.data.registry import BENCHMARKS, get_spec

CEILING_ALPHA = 0.05

# MMLU-Redux error types (Gema et al. 2024, Table 1 / its files) that demonstrate a question cannot be
# answered with the key: a wrong ground-truth label, or no correct option at all.
HARD_ERRORS = frozenset({"wrong_groundtruth", "no_correct_answer"})
# Full credit: the key is one of several correct options, or the wording is unclear but the key is a
# defensible reading, or the annotators could not settle it ("expert": sent to an expert).
FULL_CREDIT_ERRORS = frozenset(
    {"multiple_correct_answers", "bad_question_clarity", "bad_options_clarity", "expert"}
)

# MMLU's subjects and their test-set sizes (total 14042) are the strata of its spec
# (harness/data/benchmarks/mmlu.toml); MMLU-Redux annotated 100 questions of each, and these sizes
# weight the subjects as the full test set does.


def _mmlu_test_sizes() -> dict[str, int]:
    strata = get_spec("mmlu").strata
    assert strata is not None, "the MMLU spec lists its subjects as strata"
    return strata.sizes


MMLU_REDUX_CITATION = (
    "Gema et al. 2024, 'Are We Done with MMLU?', arXiv:2406.04127 (MMLU-Redux: 5700 re-annotated "
    "MMLU test questions, 100 per subject; CC BY 4.0)"
)

# GSM8K-Platinum (Vendrow, Vendrow, Beery & Madry 2025, "Do Large Language Model Benchmarks Test
# Reliability?", arXiv:2502.03461; dataset card of madrylab/gsm8k-platinum; MadryLab blog
# gradientscience.org/gsm8k-platinum). Facts we could confirm: frontier models were run on all 1319 test
# questions and every question at least one of them missed was re-examined by hand; the revised set
# keeps 1209, so 110 were removed as "poorly written (most often due to ambiguity in the problem
# statement)"; mislabeled questions were relabeled and kept. The number relabeled is not given in any
# source we could reach (the dataset card, the paper's abstract, the blog's opening; the per-item
# cleaning_status column is on the Hub, which this tool may not read). The plural ("we revise the labels
# of mislabeled examples") establishes at least two; that floor is what we count, the most generous
# reading the published facts allow. The 110 removed questions get full credit: the audit removed them as
# badly written, it did not show that no reading of them gives the key.
GSM8K_TEST_TOTAL = 1319
GSM8K_PLATINUM_KEPT = 1209
GSM8K_PLATINUM_REMOVED = GSM8K_TEST_TOTAL - GSM8K_PLATINUM_KEPT
GSM8K_PLATINUM_RELABELED_LOWER_BOUND = 2
GSM8K_PLATINUM_CITATION = (
    "Vendrow, Vendrow, Beery & Madry 2025, 'Do Large Language Model Benchmarks Test Reliability?', "
    "arXiv:2502.03461; GSM8K-Platinum (madrylab/gsm8k-platinum): 1209 of 1319 test questions kept, "
    "mislabeled ones relabeled"
)


@dataclass(frozen=True)
class Ceiling:
    """The highest score a benchmark's demonstrated label errors allow (fractions).

    ``value`` is the estimate; ``value_low``/``value_high`` the one-sided lower/upper confidence bounds
    at ``1 - alpha`` (equal to ``value`` when the audit covered the whole test set).
    """

    benchmark: str
    value: float
    value_low: float
    value_high: float
    basis: str
    citation: str
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class CeilingTest:
    """Test of H0 "the claim is at or below the benchmark's true ceiling" (the claim is possible)."""

    claimed: float  # fraction, as published
    claimed_generous: float  # minus half a unit of the published precision (at most 0.05 points)
    ceiling: float
    ceiling_upper_bound: float
    p_value: float
    method: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def no_ceiling_reason(benchmark: str) -> str:
    """Why ``label_error_ceiling(benchmark)`` is None, in words (the spec's ``ceiling.none``)."""
    spec = BENCHMARKS.get(benchmark)
    reason = spec.ceiling.none if spec is not None else None
    return reason or f"no published label-error audit is known for {benchmark}"


def label_error_ceiling(benchmark: str, alpha: float = CEILING_ALPHA) -> Ceiling | None:
    """The plausibility ceiling of ``benchmark`` (a name in ``harness.data.BENCHMARKS``), or None.

    None means no citable audit gives numbers for it (``no_ceiling_reason`` says why). Unknown names
    raise ValueError rather than silently returning "no ceiling".
    """
    if benchmark not in BENCHMARKS:
        raise ValueError(f"unknown benchmark {benchmark!r}; known: {', '.join(BENCHMARKS)}")
    if not 0.0 < alpha < 0.5:
        raise ValueError(f"alpha must be in (0, 0.5), got {alpha!r}")
    source = BENCHMARKS[benchmark].ceiling.source
    return None if source is None else CEILING_SOURCES[source](alpha)


def gsm8k_ceiling(
    total: int = GSM8K_TEST_TOTAL,
    relabeled: int = GSM8K_PLATINUM_RELABELED_LOWER_BOUND,
    removed: int = GSM8K_PLATINUM_REMOVED,
) -> Ceiling:
    """GSM8K's ceiling from GSM8K-Platinum's revision of the full test set (no sampling error).

    ``relabeled`` wrong keys cost a perfect model one question each; the ``removed`` questions cost
    nothing (see the module's notes on what the audit did and did not show).
    """
    if not 0 <= relabeled <= total or not 0 <= removed <= total:
        raise ValueError("relabeled and removed must be counts within the test set")
    value = 1.0 - relabeled / total
    return Ceiling(
        benchmark="gsm8k",
        value=value,
        value_low=value,
        value_high=value,
        basis=(
            f"GSM8K-Platinum re-examined every one of the {total} GSM8K test questions that a frontier model "
            f"got wrong; it relabeled mislabeled questions (count not published where we could read it; the "
            f"plural gives at least {relabeled}, counted as wrong keys) and removed {removed} as poorly "
            f"written, which get full credit because no audit showed that no reading of them gives the key"
        ),
        citation=GSM8K_PLATINUM_CITATION,
        details={
            "test_questions": total,
            "wrong_keys_counted": relabeled,
            "wrong_keys_note": "lower bound: the number relabeled is not given in the sources read",
            "removed_full_credit": removed,
            "share_hard": relabeled / total,
            "coverage": "full test set (questions all frontier models got right were not re-examined: "
            "any wrong key among them is not counted, which raises the ceiling)",
            "method": "1 - wrong_keys / test_questions; no sampling error",
        },
    )


def _fay_feuer_gamma(y: float, v: float) -> tuple[float, float]:
    """Shape and scale of Fay & Feuer's gamma for a weighted Poisson sum with estimate y, variance v."""
    return y * y / v, v / y


def mmlu_ceiling_from_annotations(records: list[dict[str, Any]], alpha: float = CEILING_ALPHA) -> Ceiling:
    """MMLU's ceiling from MMLU-Redux-style records (``subject``, ``error_type``); pure, for tests.

    Per subject s, x_s hard errors among n_s annotated of N_s questions; weight w_s = N_s / (14042 n_s).
    The hard-error share is y = sum_s w_s x_s, estimated variance v = sum_s w_s^2 x_s. Fay-Feuer:
    lower bound y_L = Gamma^{-1}(alpha; shape y^2/v, scale v/y) (0 when y = 0); upper bound with
    w_M = max w_s added to y and w_M^2 to v. ceiling = 1 - y, value_high = 1 - y_L, value_low = 1 - y_U.
    """
    sizes = _mmlu_test_sizes()
    total = sum(sizes.values())
    by_subject: dict[str, list[str]] = defaultdict(list)
    known = HARD_ERRORS | FULL_CREDIT_ERRORS | {"ok"}
    for i, rec in enumerate(records):
        subject, kind = rec.get("subject"), rec.get("error_type")
        if subject not in sizes:
            raise ValueError(f"annotation record {i}: unknown MMLU subject {subject!r}")
        if kind not in known:
            raise ValueError(f"annotation record {i}: unknown error_type {kind!r}")
        by_subject[subject].append(kind)
    missing = sorted(set(sizes) - set(by_subject))
    if missing:
        raise ValueError(f"no annotations for MMLU subjects: {', '.join(missing)}")
    y = v = w_max = 0.0
    share_full_credit_flagged = 0.0
    for subject, kinds in by_subject.items():
        big_n, n = sizes[subject], len(kinds)
        if n > big_n:
            raise ValueError(f"{n} annotations for {subject}, which has only {big_n} test questions")
        w = big_n / (total * n)
        x = sum(k in HARD_ERRORS for k in kinds)
        y += w * x
        v += w * w * x
        w_max = max(w_max, w)
        share_full_credit_flagged += w * sum(k in FULL_CREDIT_ERRORS for k in kinds)
    if y > 0:
        shape, scale = _fay_feuer_gamma(y, v)
        y_low = float(stats.gamma.ppf(alpha, shape, scale=scale))
    else:
        y_low = 0.0
    shape_u, scale_u = _fay_feuer_gamma(y + w_max, v + w_max * w_max)
    y_high = float(stats.gamma.ppf(1.0 - alpha, shape_u, scale=scale_u))
    counts = Counter(rec["error_type"] for rec in records)
    n_records = len(records)
    return Ceiling(
        benchmark="mmlu",
        value=1.0 - y,
        value_low=max(0.0, 1.0 - y_high),
        value_high=1.0 - y_low,
        basis=(
            f"MMLU-Redux re-annotated {n_records} MMLU test questions ({len(by_subject)} subjects); weighted "
            f"to the full test set, {y:.2%} have a wrong key or no correct answer (no honest credit); the "
            f"{share_full_credit_flagged:.2%} with several correct answers, unclear wording or left to an "
            f"expert get full credit; the upper {1 - alpha:.0%} confidence bound of the ceiling is "
            f"{1.0 - y_low:.2%} (Fay-Feuer gamma bound)"
        ),
        citation=MMLU_REDUX_CITATION,
        details={
            "annotated_questions": n_records,
            "subjects": len(by_subject),
            "test_questions": total,
            "error_type_counts": dict(sorted(counts.items())),
            # MMLU-Redux's headline figure: 6.49% of the annotated questions have some error label.
            "share_any_error_unweighted": (n_records - counts.get("ok", 0)) / n_records,
            "hard_errors_unweighted": sum(counts.get(k, 0) for k in HARD_ERRORS),
            "share_hard": y,
            "share_hard_lower_bound": y_low,
            "share_hard_upper_bound": y_high,
            "share_full_credit_flagged": share_full_credit_flagged,
            "variance_poisson": v,
            "alpha": alpha,
            "method": (
                "1 - subject-weighted share of wrong keys and questions with no correct answer; one-sided "
                "bounds by Fay & Feuer's (1997) gamma method for directly standardised rates"
            ),
        },
    )


@lru_cache(maxsize=8)
def _mmlu_ceiling(alpha: float) -> Ceiling:
    from harness.data.label_errors import mmlu_redux_annotations

    return mmlu_ceiling_from_annotations(mmlu_redux_annotations(), alpha)


def _gsm8k_platinum(alpha: float) -> Ceiling:
    return gsm8k_ceiling()  # the whole test set was audited: exact, whatever alpha


# The label-error audits a benchmark spec's ``ceiling.source`` may name.
CEILING_SOURCES: dict[str, Callable[[float], Ceiling]] = {
    "gsm8k_platinum": _gsm8k_platinum,
    "mmlu_redux": _mmlu_ceiling,
}


def generous_claim(claimed: float, decimals: int | None) -> float:
    """The smallest true score a published number could be rounded from (fractions).

    A claim written with d decimals (percent) may stand for anything half a unit lower; at most 0.05
    points are granted (an integer "100" means 100, not "at least 99.5"), so rounding never hides an
    impossible claim that was written without decimals.
    """
    d = 1 if decimals is None else max(1, decimals)
    return max(0.0, claimed - 0.5 * 10.0 ** (-d) / 100.0)


def ceiling_test(ceiling: Ceiling, claimed: float, decimals: int | None = None) -> CeilingTest:
    """p-value of "the claim is possible" (claim <= true ceiling); small means implausible."""
    c = generous_claim(claimed, decimals)
    if "variance_poisson" in ceiling.details:  # a sampled audit (MMLU-Redux): the ceiling has an error
        y, v = ceiling.details["share_hard"], ceiling.details["variance_poisson"]
        needed = 1.0 - c  # the hard-error share at which the claim is exactly possible
        p = 1.0 if y <= 0.0 else float(stats.gamma.cdf(needed, *_gamma_args(y, v)))
        method = "Fay-Feuer gamma tail of the sampled hard-error share"
    else:
        p = 0.0 if c > ceiling.value else 1.0
        method = "audit of the full test set: no sampling error, the ceiling is exact given its counts"
    return CeilingTest(
        claimed=claimed,
        claimed_generous=c,
        ceiling=ceiling.value,
        ceiling_upper_bound=ceiling.value_high,
        p_value=min(1.0, max(0.0, p)),
        method=method,
    )


def _gamma_args(y: float, v: float) -> tuple[float, float, float]:
    shape, scale = _fay_feuer_gamma(y, v)
    return shape, 0.0, scale


def decimals_of(value: float | int) -> int:
    """Decimals a number was written with (``99.2`` -> 1, ``90.94`` -> 2, ``100`` -> 0)."""
    if isinstance(value, int):
        return 0
    text = repr(float(value))
    if "e" in text or "." not in text:
        return 0
    frac = text.split(".", 1)[1].rstrip("0")
    return len(frac)
