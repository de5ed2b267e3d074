"""Anytime-valid evidence: one e-process per test, combined by weighted Bonferroni (pure functions).

Each test reduces its observations to non-negative numbers ``Y_i`` whose conditional mean under H0 is
at most 1 (the test's *null bound*). ``betting_eprocess`` bets on them with a fixed grid of fractions
and averages the resulting wealth processes (Waudby-Smith & Ramdas 2024, "Estimating means of bounded
random variables by betting"; Ramdas et al. 2023, "Game-theoretic statistics and safe anytime-valid
inference"). Every component ``prod (1 - lam + lam Y_i)`` is a non-negative supermartingale under H0,
so is the average, and Ville's inequality bounds the chance that it *ever* reaches ``c`` by ``1/c``.

Written here rather than taken from a library: it is ten lines of arithmetic, and the packages that
offer e-processes on PyPI are young and wrap the same formula with APIs we would have to adapt.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from scipy import stats

LAMBDAS: tuple[float, ...] = (0.02, 0.05, 0.1, 0.2, 0.35, 0.5, 0.7, 0.9)


@dataclass(frozen=True)
class EProcess:
    """The state of one test's e-process after ``n`` observations."""

    n: int
    final: float  # E(n)
    sup: float  # max over 0..n of E(m): the value the decision uses (Ville)
    log_wealth: tuple[float, ...]  # per lambda, log prod (1 - lam + lam Y)

    def to_dict(self) -> dict[str, float | int]:
        return {"n": self.n, "e_final": self.final, "e_value": self.sup}


def _mean_exp(logs: Sequence[float]) -> float:
    top = max(logs)
    if top == -math.inf:
        return 0.0
    return math.exp(top) * sum(math.exp(v - top) for v in logs) / len(logs)


def betting_eprocess(ys: Sequence[float], lambdas: Sequence[float] = LAMBDAS) -> EProcess:
    """The mixture betting e-process over ``ys`` (each ``>= 0``; ``inf`` is allowed and means certain)."""
    logs = [0.0] * len(lambdas)
    sup = 1.0
    for y in ys:
        y = float(y)
        if not y >= 0:  # also catches NaN
            raise ValueError(f"an e-process observation must be >= 0, got {y!r}")
        for j, lam in enumerate(lambdas):
            f = 1 - lam + lam * y
            logs[j] += math.log(f) if f > 0 else -math.inf
        sup = max(sup, _mean_exp(logs))
    return EProcess(len(ys), _mean_exp(logs), sup, tuple(logs))


def bernoulli_ys(outcomes: Sequence[bool], null_rates: Sequence[float] | float) -> list[float]:
    """``Y = X / q0`` for Bernoulli observations whose null probability of 1 is at most ``q0``."""
    rates = [null_rates] * len(outcomes) if isinstance(null_rates, int | float) else list(null_rates)
    if len(rates) != len(outcomes):
        raise ValueError("one null rate per outcome")
    out = []
    for x, q in zip(outcomes, rates, strict=True):
        if not 0 < q <= 1:
            raise ValueError(f"a null rate must be in (0, 1], got {q}")
        out.append((1.0 / q) if x else 0.0)
    return out


def threshold(weight: float, alpha: float) -> float:
    """The e-value at which a test of weight ``weight`` rejects in a family at level ``alpha``."""
    return math.inf if weight <= 0 else 1.0 / (weight * alpha)


def smallest_rejecting_count(n: int, null_rate: float, crit: float) -> int | None:
    """Smallest k such that k ones among n Bernoulli(null_rate) observations give E(n) >= crit.

    E(n) depends only on the count (the factors commute), so this is the exact rejection region of the
    final value; the running maximum can only reject earlier.
    """
    y1 = 1.0 / null_rate
    for k in range(n + 1):
        if betting_eprocess([y1] * k + [0.0] * (n - k)).final >= crit:
            return k
    return None


def detectable_rate(n: int, null_rate: float, crit: float, power: float = 0.95) -> float | None:
    """Smallest per-observation rate q with P(Binomial(n, q) >= k*) >= power (None: undetectable)."""
    k = smallest_rejecting_count(n, null_rate, crit)
    if k is None or n == 0:
        return None
    if k == 0:
        return 0.0
    # P(Bin(n, q) >= k) is increasing in q: bisect.
    lo, hi = 0.0, 1.0
    if stats.binom.sf(k - 1, n, hi) < power:
        return None
    for _ in range(60):
        mid = (lo + hi) / 2
        if stats.binom.sf(k - 1, n, mid) >= power:
            hi = mid
        else:
            lo = mid
    return hi


def clopper_pearson_upper(k: int, n: int, confidence: float = 0.95) -> float:
    """One-sided upper confidence bound for a binomial rate (exact; 1 when n == 0)."""
    if n == 0:
        return 1.0
    if k >= n:
        return 1.0
    return float(stats.beta.ppf(confidence, k + 1, n - k))
