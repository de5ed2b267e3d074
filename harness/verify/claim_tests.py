"""Tests of a claimed score: the accusing test (anytime-valid), equivalence (TOST), family correction.

Pure functions of summary numbers (a score, its effective sample size), no files or models.
Rationale and worked examples: docs/verify.md, "Verdicts".

* **Shortfall test** (the one behind the accusation ``below claim``): H0 "true accuracy >= claim -
  tolerance" against "it is lower", by a mixture likelihood ratio (Robbins 1970, "Statistical methods
  related to the law of the iterated logarithm"; the e-value view in Ramdas, Grünwald, Vovk & Shafer
  2023, "Game-theoretic statistics and safe anytime-valid inference", Statist. Sci. 38(4)). For a
  Bernoulli sample with k successes out of n and the boundary ``c0``,

      E = (1/c0) ∫_0^c0 q^k (1-q)^(n-k) dq / (c0^k (1-c0)^(n-k))

  (a uniform mixture over the alternatives q < c0). Under any true accuracy p >= c0 each factor
  ``(q/c0)^x ((1-q)/(1-c0))^(1-x)`` has expectation <= 1, so E is a non-negative supermartingale in n
  and, by Ville's inequality, P(E ever reaches 1/alpha) <= alpha. So the false-accusation rate stays
  below alpha *whatever the stopping time*: a user who scores 100 items, looks, scores 200 more and
  stops when the verdict suits them cannot inflate it (`--sample` draws nested samples for this
  reason). The p-value is ``min(1, 1/E)``. The price is power: a fixed-n test would detect a shortfall
  20-40% smaller (``minimum_detectable_shortfall`` reports the gap this test detects).
* **Clustered or stratified scores** enter through Kish's effective sample size ``n_eff = p(1-p)/se^2``
  and ``k_eff = p n_eff`` (the Bernoulli sample with the same mean and standard error); the beta
  integrals take non-integer counts. This is an approximation, stated in the output.
* **Equivalence** (the only road to ``reproduced``): two one-sided tests (Schuirmann 1987, J.
  Pharmacokinet. Biopharm. 15(6)) of H0 "|true - claim| >= margin"; exact binomial tests for
  unweighted 0/1 scores, normal tests with the SE under each boundary otherwise. A clearing verdict,
  so a fixed-n test; what it could have missed is stated with it.
* **Family correction**: Holm's step-down procedure (Holm 1979, Scand. J. Statist. 6(2)) over the
  claims of one file, separately for the accusing tests and the equivalence tests. Holm is ten lines
  and needs no dependency (statsmodels' ``multipletests(method="holm")`` gives the same adjusted
  p-values; a test checks this when statsmodels is installed).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

from scipy import optimize, special, stats

from harness.records.files import json_safe

# Below this many expected successes or failures the normal approximation is poor (textbook rule).
_EXACT_MIN_EXPECTED = 10.0


@dataclass(frozen=True)
class Evidence:
    """What a claim test needs from a measurement: the score and its effective sample size."""

    score: float
    n: int  # items actually scored
    n_eff: float  # Kish effective sample size (n for unweighted, unclustered 0/1 scores)
    exact: bool  # unweighted 0/1 scores: exact binomial computations apply

    @property
    def k_eff(self) -> float:
        return self.score * self.n_eff


def evidence_from(score: float, n: int, se: float, se_method: str) -> Evidence:
    """Effective sample from a measurement (score, n, SE, how the SE was computed)."""
    if se_method == "binomial" or se <= 0.0:
        return Evidence(score=score, n=n, n_eff=float(n), exact=se_method == "binomial")
    n_eff = score * (1.0 - score) / (se * se)
    return Evidence(score=score, n=n, n_eff=max(1.0, n_eff), exact=False)


def _log_mixture_integral(k: float, m: float, lo: float, hi: float) -> float:
    """log ∫_lo^hi q^k (1-q)^m dq, via the regularised incomplete beta function (k, m >= 0)."""
    a, b = k + 1.0, m + 1.0
    log_b = special.betaln(a, b)
    cdf_hi = stats.beta.cdf(hi, a, b) if hi < 1.0 else 1.0
    cdf_lo = stats.beta.cdf(lo, a, b) if lo > 0.0 else 0.0
    mass = cdf_hi - cdf_lo
    if mass > 1e-300:
        return log_b + math.log(mass)
    # the mass is in a far tail: use log-space tails
    if lo <= 0.0:
        return log_b + float(stats.beta.logcdf(hi, a, b))
    if hi >= 1.0:
        return log_b + float(stats.beta.logsf(lo, a, b))
    return -math.inf


def shortfall_log_evalue(k: float, n: float, boundary: float) -> float:
    """log E for H0 "accuracy >= boundary" given k successes in n (uniform mixture over [0, boundary])."""
    if n <= 0 or boundary <= 0.0:
        return 0.0  # nothing observed, or a boundary nobody can be below: no evidence
    if boundary >= 1.0:
        # H0 "accuracy >= 1": any failure refutes it outright
        return math.inf if k < n else 0.0
    m = n - k
    log_null = k * math.log(boundary) + m * math.log1p(-boundary)
    return _log_mixture_integral(k, m, 0.0, boundary) - math.log(boundary) - log_null


def excess_log_evalue(k: float, n: float, boundary: float) -> float:
    """log E for H0 "accuracy <= boundary" (uniform mixture over [boundary, 1]); mirror image."""
    return shortfall_log_evalue(n - k, n, 1.0 - boundary)


def _p_from_log_e(log_e: float) -> float:
    return 1.0 if log_e <= 0.0 else math.exp(-log_e) if math.isfinite(log_e) else 0.0


@dataclass(frozen=True)
class ShortfallTest:
    """Anytime-valid test of H0 "true accuracy >= claimed - tolerance" (the accusation ``below claim``).

    ``p_value`` = min(1, 1/E); ``minimum_detectable_shortfall`` is the smallest true gap below the
    claim (tolerance included) that this test flags with ``power`` at level ``alpha``.
    """

    claimed: float
    tolerance: float
    boundary: float
    measured: float
    n: int
    n_eff: float
    log_evalue: float
    p_value: float
    alpha: float
    power: float
    minimum_detectable_shortfall: float
    method: str

    def to_dict(self) -> dict[str, Any]:
        return json_safe(asdict(self))


def shortfall_test(
    ev: Evidence, claimed: float, tolerance: float, alpha: float = 0.05, power: float = 0.8
) -> ShortfallTest:
    boundary = claimed - tolerance
    log_e = shortfall_log_evalue(ev.k_eff, ev.n_eff, boundary)
    return ShortfallTest(
        claimed=claimed,
        tolerance=tolerance,
        boundary=boundary,
        measured=ev.score,
        n=ev.n,
        n_eff=ev.n_eff,
        log_evalue=log_e,
        p_value=_p_from_log_e(log_e),
        alpha=alpha,
        power=power,
        minimum_detectable_shortfall=minimum_detectable_shortfall(ev.n_eff, claimed, tolerance, alpha, power),
        method="anytime-valid mixture likelihood ratio (uniform mixture), "
        + ("exact binomial counts" if ev.exact else "Kish effective sample size"),
    )


def minimum_detectable_shortfall(
    n_eff: float, claimed: float, tolerance: float, alpha: float = 0.05, power: float = 0.8
) -> float:
    """Smallest true gap ``claimed - p`` that ``shortfall_test`` flags at ``alpha`` with ``power``.

    The flagging threshold k* solves log E(k*, n) = log(1/alpha) (E falls as k rises); a true accuracy
    p is flagged with probability P(K <= k*), K ~ Binomial(n, p), here by the normal approximation
    with continuity correction. Returns inf when no accuracy >= 0 is detected with that power.
    """
    boundary = claimed - tolerance
    if n_eff <= 0 or boundary <= 0.0:
        return math.inf
    target = math.log(1.0 / alpha)

    def excess(k: float) -> float:
        return shortfall_log_evalue(k, n_eff, boundary) - target

    if excess(0.0) < 0:
        return math.inf  # even zero successes would not be flagged
    hi = boundary * n_eff
    # excess(hi) >= 0 cannot happen for a mixture over q < boundary, but be safe
    k_star = hi if excess(hi) >= 0 else optimize.brentq(excess, 0.0, hi, xtol=1e-9)

    def detect(p: float) -> float:  # P(K <= k*) - power, decreasing in p
        if p <= 0.0:
            return 1.0 - power
        sd = math.sqrt(n_eff * p * (1.0 - p))
        return float(stats.norm.cdf((k_star + 0.5 - n_eff * p) / sd)) - power

    if detect(1e-12) < 0:
        return math.inf
    p_star = optimize.brentq(detect, 1e-12, boundary, xtol=1e-10) if detect(boundary) < 0 else boundary
    return claimed - p_star


@dataclass(frozen=True)
class ExcessTest:
    """Anytime-valid test of H0 "true accuracy <= claimed + tolerance" (``above claim``, not an accusation)."""

    boundary: float
    log_evalue: float
    p_value: float

    def to_dict(self) -> dict[str, Any]:
        return json_safe(asdict(self))


def excess_test(ev: Evidence, claimed: float, tolerance: float) -> ExcessTest:
    boundary = claimed + tolerance
    if boundary >= 1.0:
        return ExcessTest(boundary=boundary, log_evalue=0.0, p_value=1.0)
    log_e = excess_log_evalue(ev.k_eff, ev.n_eff, boundary)
    return ExcessTest(boundary=boundary, log_evalue=log_e, p_value=_p_from_log_e(log_e))


@dataclass(frozen=True)
class EquivalenceTest:
    """Two one-sided tests of H0 "|true - claimed| >= margin"; ``p_value`` = max of the two."""

    claimed: float
    margin: float
    p_lower: float  # H0: true <= claimed - margin
    p_upper: float  # H0: true >= claimed + margin
    p_value: float
    method: Literal["exact binomial", "normal"]

    def to_dict(self) -> dict[str, Any]:
        return json_safe(asdict(self))


def equivalence_test(ev: Evidence, claimed: float, margin: float) -> EquivalenceTest:
    lo, hi = claimed - margin, claimed + margin
    k = round(ev.k_eff)
    exact = ev.exact and abs(ev.k_eff - k) < 1e-9
    if exact:
        p_lower = 0.0 if lo <= 0.0 else float(stats.binom.sf(k - 1, ev.n, lo))
        p_upper = 0.0 if hi >= 1.0 else float(stats.binom.cdf(k, ev.n, hi))
        method: Literal["exact binomial", "normal"] = "exact binomial"
    else:

        def one_sided(boundary: float, upper: bool) -> float:
            if boundary <= 0.0 or boundary >= 1.0:
                return 0.0
            se = math.sqrt(boundary * (1.0 - boundary) / ev.n_eff)
            z = (ev.score - boundary) / se
            return float(stats.norm.cdf(z) if upper else stats.norm.sf(z))

        p_lower, p_upper = one_sided(lo, upper=False), one_sided(hi, upper=True)
        method = "normal"
    return EquivalenceTest(
        claimed=claimed,
        margin=margin,
        p_lower=p_lower,
        p_upper=p_upper,
        p_value=max(p_lower, p_upper),
        method=method,
    )


def holm_adjust(p_values: Sequence[float]) -> list[float]:
    """Holm step-down adjusted p-values (reject H_i at family level alpha iff adjusted_i <= alpha).

    statsmodels' ``multipletests(method="holm")``; an empty family has nothing to adjust.
    """
    if len(p_values) == 0:
        return []
    from statsmodels.stats.multitest import multipletests

    _, adjusted, _, _ = multipletests(list(p_values), method="holm")
    return [float(min(1.0, p)) for p in adjusted]
