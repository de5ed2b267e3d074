"""From evidence rows to one verdict, a confidence, the weights relation and a one-sentence headline.

Rules (alpha = 0.01 by default):

1. ``mismatch`` when any test against "the endpoint serves the reference" rejects after Holm's adjustment
   over all such tests run (tokenizer counts, truncation, log-probability magnitude/drift, two-sample
   test, confirmed deletions, echo rewrites). Confidence = 1 - the smallest adjusted p-value.
2. ``match`` when the log-probability probe places the endpoint within a calibrated band (identical, or
   an equivalence test with p < alpha) and rule 1 did not fire. Confidence = 1 - that equivalence
   p-value: the probability-scale support for "the divergence is inside the band", which says nothing
   about differences smaller than the smallest detectable ones reported next to it.
3. ``inconclusive`` otherwise (no logprobs and no rejection, budget spent, tokenizer-only reference).
   Confidence = the larger of the two sides' support, which stayed below 1 - alpha.

Weak tells (identity answers, greedy agreement, a longer chat template, a cache) never decide; they
are named in the headline when they point away from the verdict.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from harness.fingerprint.evidence import Evidence, format_p
from harness.fingerprint.statistics import holm

CONFIDENCE_MEANING = {
    "mismatch": "1 - the smallest Holm-adjusted p-value among the tests that reject 'the endpoint serves the "
    "reference weights'",
    "match": "1 - the p-value of the equivalence test that the endpoint's log-probability divergence lies "
    "within the calibrated band (1 when identical); it does not cover differences below the smallest "
    "detectable ones",
    "inconclusive": "the stronger of the two sides' support (1 - best adjusted p against the claim, or the "
    "equivalence confidence for it), which did not reach 1 - alpha",
}


@dataclass
class Verdict:
    verdict: str
    confidence: float
    weights_relation: str
    headline: str
    adjusted_p: dict[str, float]

    def to_dict(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict,
            "confidence": self.confidence,
            "weights_relation": self.weights_relation,
            "headline": self.headline,
        }


def _find(evidence: list[Evidence], name: str) -> Evidence | None:
    return next((e for e in evidence if e.name == name), None)


def decide(evidence: list[Evidence], *, alpha: float, reason_if_open: str = "") -> Verdict:
    tests = [
        e for e in evidence if e.p_value is not None and math.isfinite(e.p_value) and e.supports == "mismatch"
    ]
    adjusted = holm([float(e.p_value) for e in tests])  # type: ignore[arg-type]
    adj = {e.name: p for e, p in zip(tests, adjusted, strict=True)}
    rejecting = [e for e in tests if adj[e.name] < alpha and e.decisive]
    lp = _find(evidence, "logprob_probe")
    relation = str(lp.details.get("relation", "unknown")) if lp is not None else "unknown"
    weak_against = [e for e in evidence if e.supports == "mismatch" and not e.decisive]

    if rejecting:
        best = min(rejecting, key=lambda e: adj[e.name])
        p = adj[best.name]
        if (
            any(e.kind == "tokenizer" for e in rejecting)
            or best.name in ("two_sample_test",)
            or (lp is not None and lp.supports == "mismatch")
        ):
            relation = "different weights"
        elif lp is None or lp.supports != "match":
            relation = "unknown"
        return Verdict("mismatch", 1 - p, relation, _headline_mismatch(best, rejecting, p), adj)

    if lp is not None and lp.supports == "match" and lp.decisive:
        headline = _headline_match(lp)
        if weak_against:
            headline += (
                " Weak tells pointed elsewhere: " + "; ".join(e.statistic for e in weak_against[:2]) + "."
            )
        return Verdict("match", lp.strength, relation, headline, adj)

    support_against = max((1 - p for p in adj.values()), default=0.0)
    support_for = lp.strength if lp is not None and lp.supports == "match" else 0.0
    why = reason_if_open or "no test was decisive within the budget"
    return Verdict(
        "inconclusive",
        max(support_against, support_for),
        relation if relation != "identical" else "unknown",
        f"Inconclusive: {why}.",
        adj,
    )


def _headline_mismatch(best: Evidence, rejecting: list[Evidence], p: float) -> str:
    deletion = next((e for e in rejecting if e.name in ("deletion_probe", "echo_rewrite_tell")), None)
    if best.kind == "tokenizer":
        lead = f"The endpoint does not serve the reference: its tokenizer differs ({best.statistic.split(';')[0]})"
    elif best.name == "logprob_probe":
        d = best.details
        if d.get("drift_p") is not None and d.get("drift_p", 1) <= d.get("p_above_quantisation_band", 1):
            lead = (
                "The endpoint does not serve the reference weights: its log-probabilities shift coherently "
                f"({d.get('drift_mean', float('nan')):+.4f} nats/token, {d.get('drift_ratio', float('nan')):+.2f} x sqrt(KL) "
                f"where numerics give ±{d.get('drift_null_scale', float('nan')):.2f}), "
                "the signature of changed (e.g. fine-tuned) weights"
            )
        else:
            lead = (
                "The endpoint does not serve the reference weights: its log-probabilities diverge "
                f"{d.get('mean_kl', float('nan')):.3g} nats/token (KL), beyond the calibrated quantisation band "
                f"{d.get('quantisation_band_kl', float('nan')):.3g}"
            )
    elif best.name == "two_sample_test":
        lead = "The endpoint does not serve the reference: its sampled outputs differ in distribution"
    elif best.name in ("deletion_probe", "echo_rewrite_tell"):
        lead = f"The endpoint does not faithfully serve the reference: it rewrites output ({best.statistic})"
    else:
        lead = f"The endpoint does not serve the reference ({best.statistic})"
    if deletion is not None and deletion is not best:
        words = deletion.details.get("deleted_words")
        lead += f"; it also deletes {', '.join(repr(w) for w in (words if isinstance(words, list) else list(words or {}))[:3])} from outputs"
    return f"{lead} ({format_p(p)}, Holm-adjusted)."


def _headline_match(lp: Evidence) -> str:
    d = lp.details
    if d.get("relation") == "identical":
        return (
            f"The endpoint serves the reference weights: its log-probabilities on {d.get('positions')} tokens are "
            f"identical to a local forward pass (max difference {d.get('max_abs_logprob_diff', 0):.1g} nats)."
        )
    tier = d.get("band_tier") or "quantisation"
    return (
        f"The endpoint serves the reference weights within the {tier} band: top-k KL {d.get('mean_kl', 0):.3g} "
        f"nats/token vs band {d.get(f'{tier}_band_kl', float('nan')):.3g}, and no coherent drift "
        f"(smallest detectable {d.get('smallest_detectable_drift_nats_per_token', float('nan')):.2g} nats/token)."
    )
