"""Plausibility ceilings: the highest score a benchmark's own label errors allow.

A model that answers every question "correctly" still loses the questions whose answer key is wrong
or that have no correct answer (it can only match such a key by chance or by having memorised it), and
it gets roughly a coin flip on questions with several defensible answers. So a published label-error
audit bounds the score an honest model can reach:

    ceiling = 1 - share_hard - q * share_ambiguous

* hard errors (credit 0): wrong ground truth, no correct answer;
* ambiguous (credit ``q``, default 0.5): several correct answers, unclear question or options;
* everything else, including questions the auditors could not settle (MMLU-Redux's "expert"), gets
  credit 1: generous to the claimant.

The interval (``value_low``, ``value_high``) is a 95% range for that ceiling, from two sources of
noise, added as variances: the sampling error of the audit where only a sample was re-annotated
(stratified by subject, with the finite-population correction), and the luck of a perfect model on
the ambiguous questions (each credited with probability ``q``, independently). ``value_high``, the
generous end, is what the verdict compares a claim with. Rationale: docs/verify.md.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from typing import Any

from scipy import stats

from harness.data import BENCHMARKS, MMLU_SUBJECTS

# Credit a perfect model gets, on average, for a question with several defensible answers or an
# unclear statement: one of (about) two readings matches the key.
AMBIGUOUS_CREDIT = 0.5
CEILING_CONFIDENCE = 0.95

HARD_ERRORS = frozenset({"wrong_groundtruth", "no_correct_answer"})
AMBIGUOUS_ERRORS = frozenset({"multiple_correct_answers", "bad_question_clarity", "bad_options_clarity"})
# "expert": the MMLU-Redux annotators could not settle the question and asked for an expert; not a
# demonstrated error, so full credit (generous to the claimant).
UNVERIFIED = frozenset({"expert"})

# Test-set size of each of the 57 MMLU subjects (Hendrycks et al. 2021, "Measuring Massive Multitask
# Language Understanding"; the Hub's cais/mmlu test split), total 14042. MMLU-Redux annotated 100
# questions of each; these sizes weight the subjects as the full test set does.
MMLU_TEST_SIZES: dict[str, int] = {
    "abstract_algebra": 100, "anatomy": 135, "astronomy": 152, "business_ethics": 100,
    "clinical_knowledge": 265, "college_biology": 144, "college_chemistry": 100,
    "college_computer_science": 100, "college_mathematics": 100, "college_medicine": 173,
    "college_physics": 102, "computer_security": 100, "conceptual_physics": 235, "econometrics": 114,
    "electrical_engineering": 145, "elementary_mathematics": 378, "formal_logic": 126,
    "global_facts": 100, "high_school_biology": 310, "high_school_chemistry": 203,
    "high_school_computer_science": 100, "high_school_european_history": 165,
    "high_school_geography": 198, "high_school_government_and_politics": 193,
    "high_school_macroeconomics": 390, "high_school_mathematics": 270,
    "high_school_microeconomics": 238, "high_school_physics": 151, "high_school_psychology": 545,
    "high_school_statistics": 216, "high_school_us_history": 204, "high_school_world_history": 237,
    "human_aging": 223, "human_sexuality": 131, "international_law": 121, "jurisprudence": 108,
    "logical_fallacies": 163, "machine_learning": 112, "management": 103, "marketing": 234,
    "medical_genetics": 100, "miscellaneous": 783, "moral_disputes": 346, "moral_scenarios": 895,
    "nutrition": 306, "philosophy": 311, "prehistory": 324, "professional_accounting": 282,
    "professional_law": 1534, "professional_medicine": 272, "professional_psychology": 612,
    "public_relations": 110, "security_studies": 245, "sociology": 201, "us_foreign_policy": 100,
    "virology": 166, "world_religions": 171,
}  # fmt: skip
MMLU_TEST_TOTAL = 14042
assert sum(MMLU_TEST_SIZES.values()) == MMLU_TEST_TOTAL, "MMLU subject sizes must sum to 14042"
assert set(MMLU_TEST_SIZES) == set(MMLU_SUBJECTS), "MMLU subject sizes must cover the 57 subjects"

MMLU_REDUX_CITATION = (
    "Gema et al. 2024, 'Are We Done with MMLU?', arXiv:2406.04127 (MMLU-Redux: 5700 re-annotated "
    "MMLU test questions, 100 per subject; CC BY 4.0)"
)

# GSM8K-Platinum (Vendrow, Vendrow, Beery & Madry 2025, "Do Large Language Model Benchmarks Test
# Reliability?", arXiv:2502.03461; MadryLab blog "GSM8K-Platinum", gradientscience.org/gsm8k-platinum;
# dataset madrylab/gsm8k-platinum). Verified from the dataset card: its test split has 1209 examples,
# so 110 of GSM8K's 1319 test questions were removed as poorly written (logical contradictions,
# ambiguity, missing specifications); mislabeled questions were relabeled and kept. We could not
# confirm the published number of relabeled questions, so they count as 0 hard errors here (which
# raises the ceiling: generous to the claimant), and all 110 removed questions count as ambiguous
# (credit q), although some (contradictions, missing information) have no correct answer at all.
GSM8K_TEST_TOTAL = 1319
GSM8K_PLATINUM_KEPT = 1209
GSM8K_PLATINUM_REMOVED = GSM8K_TEST_TOTAL - GSM8K_PLATINUM_KEPT
GSM8K_PLATINUM_RELABELED_COUNTED = 0
GSM8K_PLATINUM_CITATION = (
    "Vendrow, Vendrow, Beery & Madry 2025, 'Do Large Language Model Benchmarks Test Reliability?', "
    "arXiv:2502.03461; GSM8K-Platinum (madrylab/gsm8k-platinum): 1209 of 1319 test questions kept"
)

# Benchmarks with no ceiling, and why (the verdict quotes this).
NO_CEILING_REASONS: dict[str, str] = {
    "arc_challenge": "no published label-error audit of the ARC-Challenge test set with error counts is known",
    "arc_easy": "no published label-error audit of the ARC-Easy test set with error counts is known",
    "hellaswag": (
        "the one published audit (Chizhov et al. 2025, 'What the HellaSwag?', arXiv:2504.07825, "
        "GoldenSwag) labels validation items with an LLM annotator and flags 21% of them as having "
        "several correct endings; those flags bound no score (the q-rule would give a ceiling near "
        "86%, below scores reported for frontier models), so no ceiling is used"
    ),
}


@dataclass(frozen=True)
class Ceiling:
    """The highest score a benchmark's known label errors allow, with a 95% range (fractions)."""

    benchmark: str
    value: float
    value_low: float
    value_high: float
    basis: str
    citation: str
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def no_ceiling_reason(benchmark: str) -> str:
    """Why ``label_error_ceiling(benchmark)`` is None, in words."""
    return NO_CEILING_REASONS.get(benchmark, f"no published label-error audit is known for {benchmark}")


def label_error_ceiling(benchmark: str, ambiguous_credit: float = AMBIGUOUS_CREDIT) -> Ceiling | None:
    """The plausibility ceiling of ``benchmark`` (a name in ``harness.data.BENCHMARKS``), or None.

    None means no citable audit gives numbers for it (``no_ceiling_reason`` says why). Unknown names
    raise ValueError rather than silently returning "no ceiling".
    """
    if benchmark not in BENCHMARKS:
        raise ValueError(f"unknown benchmark {benchmark!r}; known: {', '.join(BENCHMARKS)}")
    if not 0.0 <= ambiguous_credit <= 1.0:
        raise ValueError(f"ambiguous_credit must be in [0, 1], got {ambiguous_credit!r}")
    if benchmark == "mmlu":
        return _mmlu_ceiling(ambiguous_credit)
    if benchmark == "gsm8k":
        return gsm8k_ceiling(ambiguous_credit)
    return None


def _interval(value: float, se: float) -> tuple[float, float]:
    z = float(stats.norm.ppf(0.5 + CEILING_CONFIDENCE / 2.0))
    return max(0.0, value - z * se), min(1.0, value + z * se)


def gsm8k_ceiling(
    ambiguous_credit: float = AMBIGUOUS_CREDIT,
    total: int = GSM8K_TEST_TOTAL,
    removed: int = GSM8K_PLATINUM_REMOVED,
    relabeled: int = GSM8K_PLATINUM_RELABELED_COUNTED,
) -> Ceiling:
    """GSM8K's ceiling from GSM8K-Platinum's revision of the full test set.

    Every question any of several frontier models got wrong was re-examined by hand (questions all of
    them got right are taken to be sound, which can only raise the ceiling). The whole test set was
    covered, so there is no sampling error; the range is only a perfect
    model's luck on the ``removed`` ambiguous questions: Binomial(removed, q) credits, normal
    approximation (SD ``sqrt(removed q (1-q)) / total``).
    """
    q = ambiguous_credit
    share_hard = relabeled / total
    share_ambiguous = removed / total
    value = 1.0 - share_hard - q * share_ambiguous
    se = math.sqrt(removed * q * (1.0 - q)) / total
    low, high = _interval(value, se)
    return Ceiling(
        benchmark="gsm8k",
        value=value,
        value_low=low,
        value_high=high,
        basis=(
            f"GSM8K-Platinum re-examined every one of the {total} GSM8K test questions that a frontier model "
            f"got wrong and removed {removed} as poorly written or ambiguous; each counts as a coin flip "
            f"(credit {q:g}) for a perfect model, and {relabeled} relabeled questions count as hard errors"
        ),
        citation=GSM8K_PLATINUM_CITATION,
        details={
            "test_questions": total,
            "removed_ambiguous": removed,
            "relabeled_counted_as_hard_errors": relabeled,
            "share_hard": share_hard,
            "share_ambiguous": share_ambiguous,
            "ambiguous_credit": q,
            "standard_error": se,
            "confidence": CEILING_CONFIDENCE,
            "method": "1 - share_hard - q * share_ambiguous; range from Binomial(removed, q) luck, normal approximation",
        },
    )


def mmlu_ceiling_from_annotations(
    records: list[dict[str, Any]], ambiguous_credit: float = AMBIGUOUS_CREDIT
) -> Ceiling:
    """MMLU's ceiling from MMLU-Redux-style records (``subject``, ``error_type``); pure, for tests.

    Per subject s, with n_s annotated questions out of N_s in the test set and per-question credit
    x (1, q or 0): the ceiling is ``sum_s w_s mean_s(x)`` with ``w_s = N_s / 14042``; its variance is
    the stratified-sampling variance ``sum_s w_s^2 (1 - n_s/N_s) var_s(x) / n_s`` (Cochran 1977,
    "Sampling Techniques", ch. 5; ``var_s`` with n_s - 1) plus a perfect model's luck on the expected
    ambiguous questions, ``sum_s N_s a_s q (1 - q) / 14042^2``.
    """
    q = ambiguous_credit
    by_subject: dict[str, list[str]] = defaultdict(list)
    for i, rec in enumerate(records):
        subject, kind = rec.get("subject"), rec.get("error_type")
        if subject not in MMLU_TEST_SIZES:
            raise ValueError(f"annotation record {i}: unknown MMLU subject {subject!r}")
        if kind not in HARD_ERRORS | AMBIGUOUS_ERRORS | UNVERIFIED | {"ok"}:
            raise ValueError(f"annotation record {i}: unknown error_type {kind!r}")
        by_subject[subject].append(kind)
    missing = sorted(set(MMLU_TEST_SIZES) - set(by_subject))
    if missing:
        raise ValueError(f"no annotations for MMLU subjects: {', '.join(missing)}")

    def credit(kind: str) -> float:
        return 0.0 if kind in HARD_ERRORS else q if kind in AMBIGUOUS_ERRORS else 1.0

    value = sampling_var = luck_var = 0.0
    share_hard = share_ambiguous = share_unverified = 0.0
    for subject, kinds in by_subject.items():
        big_n, n = MMLU_TEST_SIZES[subject], len(kinds)
        if n > big_n:
            raise ValueError(f"{n} annotations for {subject}, which has only {big_n} test questions")
        w = big_n / MMLU_TEST_TOTAL
        xs = [credit(k) for k in kinds]
        mean = sum(xs) / n
        var = sum((x - mean) ** 2 for x in xs) / (n - 1) if n > 1 else 0.0
        value += w * mean
        sampling_var += w * w * (1.0 - n / big_n) * var / n
        a = sum(k in AMBIGUOUS_ERRORS for k in kinds) / n
        luck_var += big_n * a * q * (1.0 - q) / MMLU_TEST_TOTAL**2
        share_hard += w * sum(k in HARD_ERRORS for k in kinds) / n
        share_ambiguous += w * a
        share_unverified += w * sum(k in UNVERIFIED for k in kinds) / n
    se = math.sqrt(sampling_var + luck_var)
    low, high = _interval(value, se)
    counts = Counter(rec["error_type"] for rec in records)
    n_records = len(records)
    return Ceiling(
        benchmark="mmlu",
        value=value,
        value_low=low,
        value_high=high,
        basis=(
            f"MMLU-Redux re-annotated {n_records} MMLU test questions ({len(by_subject)} subjects); "
            f"weighted to the full test set, {share_hard:.2%} have a wrong key or no correct answer "
            f"(credit 0) and {share_ambiguous:.2%} several answers or an unclear statement (credit {q:g})"
        ),
        citation=MMLU_REDUX_CITATION,
        details={
            "annotated_questions": n_records,
            "subjects": len(by_subject),
            "test_questions": MMLU_TEST_TOTAL,
            "error_type_counts": dict(sorted(counts.items())),
            # MMLU-Redux's headline figure: 6.49% of the annotated questions have some error label.
            "share_any_error_unweighted": (n_records - counts.get("ok", 0)) / n_records,
            "share_hard": share_hard,
            "share_ambiguous": share_ambiguous,
            "share_unverified_full_credit": share_unverified,
            "ambiguous_credit": q,
            "standard_error": se,
            "confidence": CEILING_CONFIDENCE,
            "method": (
                "subject-weighted 1 - share_hard - q * share_ambiguous; stratified sampling variance with "
                "finite-population correction plus Binomial luck on ambiguous questions, normal approximation"
            ),
        },
    )


@lru_cache(maxsize=8)
def _mmlu_ceiling(ambiguous_credit: float) -> Ceiling:
    from harness.data.label_errors import mmlu_redux_annotations

    return mmlu_ceiling_from_annotations(mmlu_redux_annotations(), ambiguous_credit)
