"""From evidence rows to one verdict: a pure function (docs/fingerprint.md, "The statistical design").

* ``mismatch`` iff some test of the family has ``e_value >= 1 / (weight * alpha)``. Family-wise error
  <= alpha under any dependence and any stopping time (Ville + union bound); monotone in every e-value.
* ``match`` iff nothing rejected, every test of the family ran its planned sample (``complete``),
  including at least one weights-level test, and the weights-level tests place the endpoint within
  ``match_tier`` numerics (default 8-bit): no rejection of that narrower null *and* its estimate (mean
  Y) inside it; the rows' ``bound`` says what a match could have missed.
* ``inconclusive`` otherwise, with the reason: in particular an endpoint beyond ``match_tier`` numerics
  but within the tolerance (a 4-bit quantisation of the claimed weights, or a change of that size) is
  neither accused nor cleared.

``weights_relation``: ``different weights`` when a tokenizer or weights-level test rejected, ``relay
rewrites text`` when only relay tests did; for a match ``identical`` or ``same weights within the
honest numerics band``; ``unknown`` otherwise.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from harness.fingerprint.evalues import threshold
from harness.fingerprint.evidence import Evidence, format_e

WEIGHT_TOLERANCE = 1e-9
IDENTICAL = "identical"
WITHIN_BAND = "same weights within the honest numerics band"
DIFFERENT = "different weights"
RELAY = "relay rewrites text"
UNKNOWN = "unknown"

CONFIDENCE_MEANING = {
    "mismatch": "1 - the family's anytime-valid p-value min_k 1/(w_k e_k): the probability bound, under "
    "'the endpoint serves the claimed weights honestly', of evidence this strong at any stopping time",
    "match": "the power (0.95) at which each weights-level test would have caught the effect sizes in its "
    "'bound'; differences smaller than those are not ruled out",
    "inconclusive": "1 - the family's anytime-valid p-value, which stayed above alpha",
}


@dataclass
class Verdict:
    verdict: str
    confidence: float
    weights_relation: str
    headline: str
    p_family: float
    rejecting: list[str] = field(default_factory=list)


def _beyond_tier(r: Evidence, tier: str, alpha: float) -> bool:
    """Does a weights-level row place the endpoint beyond ``tier``: its e-process under that tier's null
    reaches the row's threshold, or its estimate itself (the mean of its Y, which is at most 1 under the
    tier's honest numerics) lies outside? A clearing verdict needs both inside, not only no rejection."""
    t = (r.details.get("tiers") or {}).get(tier)
    if t is None:
        return False
    return float(t.get("e_value", 1.0)) >= threshold(r.weight, alpha) or float(t.get("mean_y", 0.0)) > 1.0


def family_p_value(rows: Sequence[Evidence]) -> float:
    """min_k min(1, 1 / (w_k e_k)) over the family's tests (1 when no test has evidence)."""
    ps = [1.0 if r.weight * r.e_value <= 1.0 else 1.0 / (r.weight * r.e_value) for r in rows if r.weight > 0]
    return min(ps, default=1.0)


def decide(
    rows: Sequence[Evidence], *, alpha: float, reason_if_open: str = "", match_tier: str = "8bit"
) -> Verdict:
    """The verdict from evidence rows alone (no model, no network)."""
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    family = [r for r in rows if r.weight > 0]
    names = [r.name for r in family]
    if len(set(names)) != len(names):
        raise ValueError(f"a test appears twice in the family: {names}")
    total = sum(r.weight for r in family)
    if total > 1 + WEIGHT_TOLERANCE:
        raise ValueError(f"the family's weights sum to {total:.6g} > 1: the error bound would not hold")
    for r in family:
        if not (r.e_value >= 0) or math.isnan(r.e_value):
            raise ValueError(f"{r.name}: e_value must be >= 0, got {r.e_value}")
    p = family_p_value(family)
    rejecting = [r for r in family if r.e_value >= threshold(r.weight, alpha)]
    if rejecting:
        best = max(rejecting, key=lambda r: r.weight * r.e_value)
        relation = DIFFERENT if any(r.kind in ("tokenizer", "weights") for r in rejecting) else RELAY
        return Verdict(
            "mismatch",
            1 - p,
            relation,
            _headline_mismatch(best, rejecting, alpha),
            p,
            [r.name for r in rejecting],
        )
    weights_rows = [r for r in family if r.kind == "weights"]
    incomplete = [r.name for r in family if not r.complete]
    beyond = [r.name for r in weights_rows if _beyond_tier(r, match_tier, alpha)]
    if weights_rows and not incomplete and beyond and not reason_if_open:
        reason_if_open = (
            f"the endpoint's outputs are further from the claimed weights than {match_tier} numerics allow "
            f"({', '.join(beyond)} place it outside that narrower null) but within the tolerance: a quantised serving "
            "of the claimed weights or changed weights of that size, which this reference cannot tell apart"
        )
    if weights_rows and not incomplete and not beyond:
        lp = next((r for r in weights_rows if r.name == "token_logprobs"), None)
        relation = IDENTICAL if lp is not None and lp.details.get("identical") else WITHIN_BAND
        return Verdict("match", 0.95, relation, _headline_match(family, relation), p)
    if not reason_if_open:
        if not family:
            reason_if_open = "no test could run against this endpoint and reference"
        elif not weights_rows:
            reason_if_open = "no weights-level test could run (the reference cannot generate, or the endpoint returns no text)"
        else:
            reason_if_open = f"{', '.join(incomplete)} did not complete its planned sample"
    return Verdict(
        "inconclusive",
        1 - p,
        f"quantised or changed weights (beyond {match_tier} numerics)"
        if beyond and not incomplete
        else UNKNOWN,
        f"Inconclusive: {reason_if_open}; no test reached its threshold (family p = {p:.3g}).",
        p,
    )


def _headline_mismatch(best: Evidence, rejecting: list[Evidence], alpha: float) -> str:
    lead = {
        "tokenizer": "The endpoint does not serve the claimed model: its tokenizer differs",
        "weights": "The endpoint does not serve the claimed weights",
        "relay": "The endpoint does not faithfully serve the claimed model: something rewrites its text",
    }.get(best.kind, "The endpoint does not serve the claimed model")
    others = [r.name for r in rejecting if r is not best]
    tail = f"; also rejected: {', '.join(others)}" if others else ""
    return (
        f"{lead} ({best.name}: {best.statistic}; {format_e(best.e_value)} >= "
        f"{threshold(best.weight, alpha):.3g}, the threshold for its weight {best.weight:.3g} at alpha {alpha}){tail}."
    )


def _headline_match(family: list[Evidence], relation: str) -> str:
    bounds = [f"{r.name}: {r.bound}" for r in family if r.kind in ("weights", "relay") and r.bound]
    what = "identical log-probabilities" if relation == IDENTICAL else "behaviour within honest numerics"
    return (
        f"The endpoint serves the claimed weights ({what}); no test of the family found evidence against it. "
        + ("Would have been seen with 95% power: " + "; ".join(bounds) + "." if bounds else "")
    ).strip()


TIER_ORDER = ("16bit", "8bit", "4bit")


def numerics_relation(rows: Sequence[Evidence], *, alpha: float, tolerance: str) -> str:
    """For a match: the narrowest numerics tier none of whose weights-level tests would reject.

    Each tier is a hypothesis nested in the next (16-bit numerics within 8-bit within 4-bit); a row's
    ``details["tiers"][tier]["e_value"]`` is its e-process under that tier's calibration, held to the
    row's own threshold. Reporting the narrowest tier not rejected is a statement about numerics only
    (e.g. "served quantised"); the verdict itself is decided at ``tolerance``.
    """
    weights_rows = [r for r in rows if r.kind == "weights" and r.weight > 0 and "tiers" in r.details]
    for tier in TIER_ORDER:
        if tier == tolerance or not any(_beyond_tier(r, tier, alpha) for r in weights_rows):
            return f"same weights within {tier} numerics"
    return WITHIN_BAND
