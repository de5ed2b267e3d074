"""One verdict per claim, with its reasons in words.

Rules, applied in this order (the first that applies decides; docs/verify.md explains each):

1. ``implausible``: a ceiling is known and the claim exceeds its generous end ``value_high``, whatever
   was measured (a claim no honest model could reach on this benchmark's answer key).
2. ``inconclusive``: nothing was measured.
3. ``below claim`` / ``above claim``: the test rejects "true score == claim" (p < alpha) AND the
   measured score is more than ``tolerance`` away from the claim.
4. ``inconclusive``: the measured score is more than ``tolerance`` away but not significantly (noise
   could explain the gap).
5. ``inconclusive``: within the tolerance, but the sample is too small to have detected a real gap
   of ``resolution`` (``minimum_detectable_gap > resolution``): agreement on too few items proves
   nothing.
6. ``reproduced``: within the tolerance, and the sample would have detected a gap of ``resolution``.

The tolerance (default 3 points) is practical, not statistical: published claims are made under
slightly different harness settings (prompt wording, answer extraction, few-shot examples, batch
padding), which move scores by a point or two on their own, so a real but small difference is not
evidence against a claim. The resolution (default 5 points) is what a complete run of the smallest
benchmark here can resolve (ARC-Challenge, 1172 items, detects about 4 points with 80% power), so a
full run can reproduce a claim while a `--limit 50` run cannot. Rules 3-6 are monotone: for a fixed
sample size, a larger gap never turns a "below claim" back into "reproduced"; for a fixed gap, more
items never turn a "reproduced" into "inconclusive".
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from harness.verify.ceilings import Ceiling, no_ceiling_reason
from harness.verify.statistics import ClaimTest, Measurement, test_claim

VerdictLabel = Literal["reproduced", "below claim", "above claim", "implausible", "inconclusive"]

DEFAULT_TOLERANCE = 0.03
DEFAULT_RESOLUTION = 0.05


@dataclass(frozen=True)
class Verdict:
    """A verdict label and the sentences that justify it (first the decisive one)."""

    label: VerdictLabel
    reasons: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _pct(x: float) -> str:
    return f"{100.0 * x:.1f}%"


def _pts(x: float) -> str:
    return f"{100.0 * x:.1f}"


def format_p(p: float) -> str:
    """A p-value as a reader expects it: ``p < 0.001`` below a thousandth, else three decimals."""
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def describe_measurement(m: Measurement) -> str:
    """E.g. ``measured 41.2% (SE 1.4; 95% CI 38.4-44.1, n=1172)``; clustered SEs say so."""
    clustered = f", clustered by {m.n_clusters} subjects" if m.se_method == "clustered" else ""
    conf = f"{100.0 * m.confidence:g}%"
    return (
        f"measured {_pct(m.score)} (SE {_pts(m.se)}{clustered}; {conf} CI "
        f"{_pts(m.ci_low)}-{_pts(m.ci_high)}, n={m.n})"
    )


def _describe_ceiling(c: Ceiling) -> str:
    return (
        f"the label-error ceiling for {c.benchmark} is {_pct(c.value)} "
        f"(95% range {_pts(c.value_low)}-{_pts(c.value_high)}): {c.basis} [{c.citation}]"
    )


def _check_fraction(name: str, value: float) -> float:
    value = float(value)
    if not 0.0 <= value <= 1.0:
        hint = " (fractions, not percentages: divide by 100)" if 1.0 < value <= 100.0 else ""
        raise ValueError(f"{name} must be a fraction in [0, 1], got {value!r}{hint}")
    return value


def judge_claim(
    benchmark: str,
    claimed: float,
    measurement: Measurement | None,
    ceiling: Ceiling | None,
    claim_test: ClaimTest | None = None,
    alpha: float = 0.05,
    tolerance: float = DEFAULT_TOLERANCE,
    resolution: float = DEFAULT_RESOLUTION,
) -> Verdict:
    """The verdict on a claimed score; see the module docstring for the rules.

    ``claim_test`` defaults to ``test_claim(measurement, claimed, alpha)``; pass one to reuse it (it
    must be for the same claim). All scores are fractions.
    """
    c = _check_fraction("claimed score", claimed)
    tolerance = _check_fraction("tolerance", tolerance)
    resolution = _check_fraction("resolution", resolution)
    if claim_test is not None and abs(claim_test.claimed - c) > 1e-12:
        raise ValueError(f"claim_test is for claim {claim_test.claimed!r}, not {c!r}")
    if claim_test is None and measurement is not None:
        claim_test = test_claim(measurement, c, alpha=alpha)
    context = [_describe_ceiling(ceiling)] if ceiling is not None else [no_ceiling_reason(benchmark)]

    if ceiling is not None and c > ceiling.value_high:
        reasons = [
            f"the claimed {_pct(c)} on {benchmark} exceeds {_pct(ceiling.value_high)}, the most that the "
            f"benchmark's known label errors allow (upper end of the ceiling's 95% range), whatever the "
            f"model measured",
            _describe_ceiling(ceiling),
        ]
        if measurement is not None and claim_test is not None:
            reasons.append(_measurement_sentence(measurement, claim_test))
        return Verdict("implausible", reasons)

    if measurement is None or claim_test is None:
        return Verdict(
            "inconclusive", [f"no measurement of {benchmark} to test the claimed {_pct(c)}", *context]
        )

    t = claim_test
    gap = measurement.score - c
    significant = t.p_value < alpha
    sentence = _measurement_sentence(measurement, t)
    power_sentence = (
        f"with n={measurement.n} the smallest gap detectable with {t.power:.0%} power at alpha={t.alpha:g} "
        f"is {_pts(t.minimum_detectable_gap)} points"
        if math.isfinite(t.minimum_detectable_gap)
        else f"with n={measurement.n} no gap at all is detectable with {t.power:.0%} power at alpha={t.alpha:g}"
    )
    if significant and abs(gap) > tolerance:
        label: VerdictLabel = "below claim" if gap < 0 else "above claim"
        return Verdict(
            label,
            [
                f"{sentence}; the gap is significant (alpha={alpha:g}) and larger than the "
                f"{_pts(tolerance)}-point tolerance",
                *context,
            ],
        )
    if abs(gap) > tolerance:
        return Verdict(
            "inconclusive",
            [
                f"{sentence}; the gap exceeds the {_pts(tolerance)}-point tolerance but is not significant "
                f"at alpha={alpha:g}: too few items to tell",
                power_sentence,
                *context,
            ],
        )
    if t.minimum_detectable_gap > resolution:
        return Verdict(
            "inconclusive",
            [
                f"{sentence}; too few items to tell: {power_sentence}, more than the "
                f"{_pts(resolution)} points a reproduction must be able to rule out",
                *context,
            ],
        )
    why = (
        "statistically distinguishable but within"
        if significant
        else "not significantly different and within"
    )
    return Verdict(
        "reproduced",
        [f"{sentence}; {why} the {_pts(tolerance)}-point tolerance", power_sentence, *context],
    )


def _measurement_sentence(m: Measurement, t: ClaimTest) -> str:
    gap = m.score - t.claimed
    if abs(gap) < 0.0005:
        where = "matches"
    else:
        where = f"is {_pts(abs(gap))} points {'below' if gap < 0 else 'above'}"
    test = "exact binomial test" if t.method == "exact" else "score test"
    return f"{describe_measurement(m)} {where} the claimed {_pct(t.claimed)}; {format_p(t.p_value)} ({test})"
