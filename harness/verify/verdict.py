"""One verdict per claim, decided for the claims of one file together, with the reasons in words.

Labels and what each asserts (the first rule that applies decides; docs/verify.md, "Verdicts"):

1. ``implausible`` (accusing): the claim exceeds the benchmark's label-error ceiling, beyond the
   ceiling's sampling error, whatever was measured (``ceilings.ceiling_test``, Holm-corrected).
2. ``inconclusive``: nothing was measured (``--plausibility-only``, or the benchmark was not run): the
   claim is possible as far as the ceiling can tell, and that is all.
3. ``below claim`` (accusing): the anytime-valid shortfall test rejects "true score >= claim -
   tolerance" (Holm-corrected), the run reproduced the claim's setting, and truncated generations
   cannot explain the gap. Otherwise ``setting not reproduced``, with the differences listed.
4. ``above claim``: the score is significantly more than the tolerance above the claim.
5. ``reproduced``: the equivalence test (TOST, ±margin, Holm-corrected) passes, in the claimed setting.
6. ``inconclusive``: not refuted, but the measured score is more than the tolerance below the claim.
7. ``consistent``: the data cannot refute the claim; the reasons give the smallest shortfall the sample
   would have caught.

Status of a set of verdicts (``harness.records.status``): ``flagged`` if any is accusing; else
``unresolved`` if any is ``inconclusive`` or ``setting not reproduced``; else ``clean``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from harness.records.files import json_safe
from harness.records.formatting import format_p, percent, points
from harness.verify.ceilings import Ceiling, CeilingTest, ceiling_test, no_ceiling_reason
from harness.verify.claim_tests import (
    Evidence,
    equivalence_test,
    evidence_from,
    excess_test,
    holm_adjust,
    shortfall_test,
)
from harness.verify.statistics import Measurement

VerdictLabel = Literal[
    "reproduced",
    "consistent",
    "below claim",
    "above claim",
    "implausible",
    "inconclusive",
    "setting not reproduced",
]
ACCUSING: tuple[str, ...] = ("implausible", "below claim")
UNRESOLVED: tuple[str, ...] = ("inconclusive", "setting not reproduced")
LABEL_STATUS: dict[str, str] = {
    "implausible": "flagged",
    "below claim": "flagged",
    "inconclusive": "unresolved",
    "setting not reproduced": "unresolved",
    "reproduced": "clean",
    "consistent": "clean",
    "above claim": "clean",
}

DEFAULT_ALPHA = 0.05
DEFAULT_TOLERANCE = 0.03  # what prompt wording, extraction and padding move a score on their own
DEFAULT_MARGIN = 0.03  # equivalence margin of `reproduced`
DEFAULT_POWER = 0.8
FAMILY_CORRECTION = "Holm"


@dataclass(frozen=True)
class Truncation:
    """Generations cut at the token cap (generative benchmarks): the evidence for a setting problem."""

    max_gen_toks: int | None
    scored: int
    truncated: int | None  # by token count, when the model's tokenizer was available
    truncated_wrong: int | None
    no_final_answer: int  # the strict answer filter found no final answer
    no_final_answer_wrong: int
    method: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def wrong_possibly_cut(self) -> int:
        """Wrong answers that a cap could have caused: counted by tokens when possible, else no answer."""
        return self.truncated_wrong if self.truncated_wrong is not None else self.no_final_answer_wrong


@dataclass(frozen=True)
class ClaimInput:
    """Everything the verdict on one claim depends on."""

    benchmark: str
    claimed: float  # fraction
    decimals: int | None = None  # as published, for rounding
    measurement: Measurement | None = None
    ceiling: Ceiling | None = None
    setting_differences: tuple[str, ...] = ()
    truncation: Truncation | None = None


@dataclass(frozen=True)
class Verdict:
    """A verdict label and the sentences that justify it (first the decisive one)."""

    label: VerdictLabel
    reasons: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Judgement:
    verdict: Verdict
    claim_test: dict[str, Any] | None
    ceiling_test: CeilingTest | None


@dataclass
class FamilyResult:
    judgements: list[Judgement]
    family: dict[str, Any]


def describe_measurement(m: Measurement) -> str:
    """E.g. ``measured 41.2% (SE 1.4; 95% CI 38.4-44.1, n=1172)``; clustered/stratified SEs say so."""
    how = ""
    if m.se_method == "clustered":
        how = f", clustered by {m.n_clusters} {m.cluster_key or 'clusters'}"
    elif m.se_method == "stratified":
        how = f", stratified by {m.n_clusters} {m.cluster_key or 'strata'}"
    conf = f"{100.0 * m.confidence:g}%"
    return (
        f"measured {percent(m.score)} (SE {points(m.se)}{how}; {conf} CI "
        f"{points(m.ci_low)}-{points(m.ci_high)}, n={m.n})"
    )


def _describe_ceiling(c: Ceiling) -> str:
    bound = (
        f"upper {100 - 100 * c.details.get('alpha', 0.05):g}% bound {points(c.value_high)}"
        if c.value_high != c.value
        else "exact"
    )
    return (
        f"the label-error ceiling for {c.benchmark} is {percent(c.value)} ({bound}): {c.basis} [{c.citation}]"
    )


def _check_fraction(name: str, value: float) -> float:
    value = float(value)
    if not 0.0 <= value <= 1.0:
        hint = " (fractions, not percentages: divide by 100)" if 1.0 < value <= 100.0 else ""
        raise ValueError(f"{name} must be a fraction in [0, 1], got {value!r}{hint}")
    return value


def judge_claims(
    claims: list[ClaimInput],
    alpha: float = DEFAULT_ALPHA,
    tolerance: float = DEFAULT_TOLERANCE,
    margin: float = DEFAULT_MARGIN,
    power: float = DEFAULT_POWER,
) -> FamilyResult:
    """Verdicts for the claims of one file, with Holm's correction across them (module docstring)."""
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be in (0, 1), got {alpha!r}")
    for name, value in (("tolerance", tolerance), ("margin", margin)):
        _check_fraction(name, value)
    for c in claims:
        _check_fraction("claimed score", c.claimed)

    # Raw p-values: the accusing family (one ceiling test per claim with a ceiling, one shortfall test
    # per measured claim) and the equivalence family.
    ceiling_tests: dict[int, CeilingTest] = {}
    evidence: dict[int, Evidence] = {}
    shortfalls, excesses, equivalences = {}, {}, {}
    accusing: list[tuple[int, str, float]] = []
    for i, c in enumerate(claims):
        if c.ceiling is not None:
            ceiling_tests[i] = ceiling_test(c.ceiling, c.claimed, c.decimals)
            accusing.append((i, "ceiling", ceiling_tests[i].p_value))
        m = c.measurement
        if m is not None:
            ev = evidence_from(m.score, m.n, m.se, m.se_method)
            evidence[i] = ev
            m_family = _family_size(claims)
            shortfalls[i] = shortfall_test(ev, c.claimed, tolerance, alpha / max(1, m_family), power)
            excesses[i] = excess_test(ev, c.claimed, tolerance)
            equivalences[i] = equivalence_test(ev, c.claimed, margin)
            accusing.append((i, "shortfall", shortfalls[i].p_value))
    adjusted = holm_adjust([p for _, _, p in accusing])
    adj = {(i, kind): a for (i, kind, _), a in zip(accusing, adjusted, strict=True)}
    eq_keys = sorted(equivalences)
    eq_adjusted = dict(zip(eq_keys, holm_adjust([equivalences[i].p_value for i in eq_keys]), strict=True))
    m_accusing = len(accusing)

    judgements = []
    for i, c in enumerate(claims):
        judgements.append(
            _judge_one(
                c,
                ceiling_tests.get(i),
                adj.get((i, "ceiling")),
                shortfalls.get(i),
                adj.get((i, "shortfall")),
                excesses.get(i),
                equivalences.get(i),
                eq_adjusted.get(i),
                evidence.get(i),
                alpha=alpha,
                tolerance=tolerance,
                margin=margin,
                m_accusing=m_accusing,
            )
        )
    family = {
        "correction": FAMILY_CORRECTION,
        "alpha": alpha,
        "tolerance": tolerance,
        "equivalence_margin": margin,
        "power": power,
        "accusing_tests": [
            {"benchmark": claims[i].benchmark, "test": kind, "p_value": p, "p_adjusted": a}
            for (i, kind, p), a in zip(accusing, adjusted, strict=True)
        ],
        "equivalence_tests": [
            {
                "benchmark": claims[i].benchmark,
                "p_value": equivalences[i].p_value,
                "p_adjusted": eq_adjusted[i],
            }
            for i in eq_keys
        ],
        "statement": (
            f"{m_accusing} accusing test(s) (label-error ceiling, shortfall below the claim) and "
            f"{len(eq_keys)} equivalence test(s) over the {len(claims)} claim(s) of this file, each family "
            f"corrected by Holm's step-down procedure at family-wise alpha = {alpha:g}; the shortfall "
            f"tests are anytime-valid (the error rate holds whatever the number of items scored)"
        ),
    }
    return FamilyResult(judgements=judgements, family=family)


def _family_size(claims: list[ClaimInput]) -> int:
    """Number of accusing tests in the family (the worst-case Holm divisor, used for power figures)."""
    return sum(c.ceiling is not None for c in claims) + sum(c.measurement is not None for c in claims)


def _judge_one(
    c: ClaimInput,
    ct: CeilingTest | None,
    ct_adj: float | None,
    sf: Any,
    sf_adj: float | None,
    ex: Any,
    eq: Any,
    eq_adj: float | None,
    ev: Evidence | None,
    *,
    alpha: float,
    tolerance: float,
    margin: float,
    m_accusing: int,
) -> Judgement:
    name = c.benchmark
    context = [_describe_ceiling(c.ceiling)] if c.ceiling is not None else [no_ceiling_reason(name)]
    claim_test: dict[str, Any] | None = None
    if sf is not None and c.measurement is not None:
        m = c.measurement
        claim_test = {
            "claimed": c.claimed,
            "measured": m.score,
            "difference": m.score - c.claimed,
            "se": m.se,
            "n": m.n,
            "n_eff": ev.n_eff if ev else None,
            "alpha": alpha,
            "power": sf.power,
            "tolerance": tolerance,
            "equivalence_margin": margin,
            "p_value": sf.p_value,
            "p_adjusted": sf_adj,
            "minimum_detectable_gap": sf.minimum_detectable_shortfall,
            "method": sf.method,
            "shortfall": sf.to_dict(),
            "excess": ex.to_dict(),
            "equivalence": {**eq.to_dict(), "p_adjusted": eq_adj},
            "correction": FAMILY_CORRECTION,
        }
        claim_test = json_safe(claim_test)  # JSON has no infinity: an unbounded value is null

    if ct is not None and ct_adj is not None and ct_adj <= alpha:
        reasons = [
            f"the claimed {percent(c.claimed)} on {name} exceeds the {percent(ct.ceiling_upper_bound)} that the "
            f"benchmark's demonstrated label errors allow an honest model, whatever it measured "
            f"({format_p(ct.p_value)}, Holm-adjusted {format_p(ct_adj)} over {m_accusing} accusing tests)",
            _describe_ceiling(c.ceiling),  # type: ignore[arg-type]
        ]
        if c.measurement is not None:
            reasons.append(describe_measurement(c.measurement))
        return Judgement(Verdict("implausible", reasons), claim_test, ct)

    if c.measurement is None or sf is None:
        possible = (
            f"the claimed {percent(c.claimed)} is at or below what the label-error ceiling allows "
            f"({format_p(ct.p_value)} for 'possible')"
            if ct is not None
            else f"no ceiling bounds {name}"
        )
        return Judgement(
            Verdict(
                "inconclusive", [f"{name} was not measured: {possible}; nothing more was checked", *context]
            ),
            None,
            ct,
        )

    m = c.measurement
    gap = m.score - c.claimed
    where = (
        "matches" if abs(gap) < 0.0005 else f"is {points(abs(gap))} points {'below' if gap < 0 else 'above'}"
    )
    measured = f"{describe_measurement(m)} {where} the claimed {percent(c.claimed)}"
    mds = sf.minimum_detectable_shortfall
    mds_text = (
        f"the smallest true shortfall this sample flags with {sf.power:.0%} power is {points(mds)} points "
        f"below the claim (tolerance {points(tolerance)} included)"
        if math.isfinite(mds)
        else f"with n={m.n} no shortfall at all is flagged with {sf.power:.0%} power"
    )
    shortfall_text = (
        f"shortfall test of 'true score >= {percent(sf.boundary)}' (claim minus the {points(tolerance)}-point "
        f"tolerance): anytime-valid {format_p(sf.p_value)}, Holm-adjusted {format_p(sf_adj or 1.0)}"
    )
    if sf_adj is not None and sf_adj <= alpha:
        why_not = list(c.setting_differences)
        if c.truncation is not None and ev is not None:
            explain = _truncation_explains(c, ev, tolerance, alpha, m_accusing)
            if explain:
                why_not.append(explain)
        if why_not:
            return Judgement(
                Verdict(
                    "setting not reproduced",
                    [
                        f"{measured}; the shortfall is significant, but the run did not reproduce the claim's "
                        f"setting, so it does not refute the claim: " + "; ".join(why_not),
                        shortfall_text,
                        *context,
                    ],
                ),
                claim_test,
                ct,
            )
        return Judgement(
            Verdict(
                "below claim",
                [
                    f"{measured}; {shortfall_text}: the claim is refuted at family-wise alpha {alpha:g}",
                    *context,
                ],
            ),
            claim_test,
            ct,
        )
    if ex.p_value <= alpha:
        return Judgement(
            Verdict(
                "above claim",
                [
                    f"{measured}; significantly more than the {points(tolerance)}-point tolerance above the claim "
                    f"(anytime-valid {format_p(ex.p_value)})",
                    *context,
                ],
            ),
            claim_test,
            ct,
        )
    diffs = "; ".join(c.setting_differences)
    if eq_adj is not None and eq_adj <= alpha:
        tost = (
            f"equivalence within ±{points(margin)} points shown (TOST, {eq.method}, {format_p(eq.p_value)}, "
            f"Holm-adjusted {format_p(eq_adj)})"
        )
        if c.setting_differences:
            return Judgement(
                Verdict(
                    "consistent",
                    [
                        f"{measured}; {tost}, but in a setting that differs from the claim's: {diffs}",
                        *context,
                    ],
                ),
                claim_test,
                ct,
            )
        return Judgement(Verdict("reproduced", [f"{measured}; {tost}", *context]), claim_test, ct)
    not_shown = (
        f"equivalence within ±{points(margin)} points not shown (TOST {format_p(eq.p_value)}, "
        f"Holm-adjusted {format_p(eq_adj if eq_adj is not None else 1.0)})"
    )
    setting_note = [f"the run's setting differs from the claim's: {diffs}"] if diffs else []
    if gap < -tolerance:
        return Judgement(
            Verdict(
                "inconclusive",
                [
                    f"{measured}, more than the {points(tolerance)}-point tolerance below it, but not significantly: "
                    f"{shortfall_text}",
                    mds_text,
                    *setting_note,
                    *context,
                ],
            ),
            claim_test,
            ct,
        )
    return Judgement(
        Verdict(
            "consistent",
            [
                f"{measured}; the data do not refute the claim ({shortfall_text})",
                mds_text,
                not_shown,
                *setting_note,
                *context,
            ],
        ),
        claim_test,
        ct,
    )


def _truncation_explains(c: ClaimInput, ev: Evidence, tolerance: float, alpha: float, m: int) -> str | None:
    """A sentence if counting the possibly-cut wrong answers as right removes the significance."""
    t = c.truncation
    assert t is not None
    cut = t.wrong_possibly_cut
    if cut <= 0:
        return None
    bumped = Evidence(
        score=min(1.0, ev.score + cut / max(1, t.scored)), n=ev.n, n_eff=ev.n_eff, exact=ev.exact
    )
    p = shortfall_test(bumped, c.claimed, tolerance).p_value
    if min(1.0, m * p) <= alpha:
        return None
    how = (
        f"{t.truncated} of {t.scored} generations reached the {t.max_gen_toks}-token cap ({t.truncated_wrong} "
        "of them scored wrong)"
        if t.truncated is not None
        else f"{t.no_final_answer} of {t.scored} generations have no final answer (the cap may have cut them; "
        "no tokenizer to count tokens)"
    )
    return f"{how}; had those been right, the shortfall would not be significant (truncation could explain the gap)"


def status_of(labels: list[str], incomplete: bool = False) -> str:
    """flagged if any accusing verdict; else unresolved if any unresolved verdict or incomplete input."""
    if any(label in ACCUSING for label in labels):
        return "flagged"
    if incomplete or any(label in UNRESOLVED for label in labels):
        return "unresolved"
    return "clean"
