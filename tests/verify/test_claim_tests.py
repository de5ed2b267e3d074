"""Claim tests: the anytime-valid shortfall test (its error rate under optional stopping), TOST, Holm."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, stats

from harness.verify.claim_tests import (
    Evidence,
    equivalence_test,
    evidence_from,
    excess_test,
    holm_adjust,
    minimum_detectable_shortfall,
    shortfall_log_evalue,
    shortfall_test,
)


def test_evalue_matches_numerical_integration():
    k, n, b = 40, 60, 0.8
    integral, _ = integrate.quad(lambda q: q**k * (1 - q) ** (n - k), 0, b, epsabs=0, epsrel=1e-12, limit=200)
    expected = math.log(integral / b) - (k * math.log(b) + (n - k) * math.log(1 - b))
    assert shortfall_log_evalue(k, n, b) == pytest.approx(expected, rel=1e-9)


def test_evalue_edges():
    assert shortfall_log_evalue(5, 10, 0.0) == 0.0  # nobody can be below 0: no evidence
    assert shortfall_log_evalue(9, 10, 1.0) == math.inf  # one failure refutes "accuracy >= 1"
    assert shortfall_log_evalue(10, 10, 1.0) == 0.0
    assert shortfall_log_evalue(0, 0, 0.5) == 0.0


def _evalue_table(n_max: int, boundary: float) -> np.ndarray:
    """log E for every (n, k) with k <= n <= n_max (vectorised form of shortfall_log_evalue)."""
    table = np.full((n_max + 1, n_max + 1), np.nan)
    for n in range(1, n_max + 1):
        k = np.arange(n + 1, dtype=float)
        log_mass = stats.beta.logcdf(boundary, k + 1, n - k + 1)
        log_b = np.array([math.lgamma(a + 1) + math.lgamma(n - a + 1) - math.lgamma(n + 2) for a in k])
        table[n, : n + 1] = (
            log_b + log_mass - math.log(boundary) - (k * math.log(boundary) + (n - k) * math.log1p(-boundary))
        )
    return table


def test_shortfall_test_keeps_its_error_rate_under_optional_stopping():
    """Honest worst case (true accuracy exactly at the boundary), looking after every item up to 400:
    the mixture test flags at most alpha of the paths, while a naive z-test checked after every item
    flags several times more. 3000 paths; bounds at 99.9% of the binomial."""
    rng = np.random.default_rng(5)
    b, n_max, paths, alpha = 0.7, 400, 3000, 0.05
    table = _evalue_table(n_max, b)
    # spot-check the table against the module
    assert table[37, 20] == pytest.approx(shortfall_log_evalue(20, 37, b), rel=1e-9)
    x = rng.random((paths, n_max)) < b
    k = np.cumsum(x, axis=1)
    n = np.arange(1, n_max + 1)
    log_e = table[n, k]
    ever_mixture = np.any(log_e >= math.log(1 / alpha), axis=1).mean()
    z = (k / n - b) / np.sqrt(b * (1 - b) / n)
    ever_naive = np.any(z[:, 9:] <= stats.norm.ppf(alpha), axis=1).mean()  # from n = 10 on
    limit = stats.binom.ppf(0.999, paths, alpha) / paths
    assert ever_mixture <= limit, ever_mixture
    assert ever_naive > 2 * alpha  # why the fixed-n test is not used for accusations
    print(
        f"optional stopping to n=400: mixture {ever_mixture:.4f}, naive z-test {ever_naive:.4f} (alpha {alpha})"
    )


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(5, 3000),
    claimed=st.floats(0.2, 0.99),
    frac=st.floats(0.0, 1.0),
)
def test_shortfall_p_value_is_monotone_in_the_score(n, claimed, frac):
    k = round(frac * n)
    lo = shortfall_test(Evidence(k / n, n, float(n), True), claimed, 0.03).p_value
    hi = shortfall_test(Evidence(min(n, k + 1) / n, n, float(n), True), claimed, 0.03).p_value
    assert 0.0 <= lo <= hi <= 1.0


@pytest.mark.parametrize("n,claimed", [(1319, 0.96), (1172, 0.6), (200, 0.8), (14042, 0.86)])
def test_minimum_detectable_shortfall_has_the_stated_power(n, claimed):
    mds = minimum_detectable_shortfall(n, claimed, 0.03, alpha=0.05, power=0.8)
    assert 0.03 < mds < 0.3
    # the exact flagging threshold k* and the exact binomial power at claimed - mds
    lo, hi = 0, n  # largest k still flagged (log E falls as k rises): bisection
    while lo < hi:
        mid = (lo + hi + 1) // 2
        lo, hi = (mid, hi) if shortfall_log_evalue(mid, n, claimed - 0.03) >= math.log(20) else (lo, mid - 1)
    k_star = lo
    power = stats.binom.cdf(k_star, n, claimed - mds)
    assert power == pytest.approx(0.8, abs=0.05)
    # more items detect a smaller shortfall
    assert minimum_detectable_shortfall(4 * n, claimed, 0.03) < mds
    assert minimum_detectable_shortfall(3, 0.5, 0.03) == math.inf


def test_excess_is_the_mirror_image():
    ev = Evidence(0.9, 500, 500.0, True)
    assert excess_test(ev, 0.8, 0.03).p_value < 0.001
    assert excess_test(Evidence(0.8, 500, 500.0, True), 0.8, 0.03).p_value == 1.0
    assert excess_test(ev, 0.99, 0.03).p_value == 1.0  # a boundary above 100% cannot be exceeded


def test_tost_exact_by_hand():
    # 700/1000 against a claim of 70% with a 3-point margin: P(K >= 700 | 0.67) and P(K <= 700 | 0.73)
    t = equivalence_test(Evidence(0.7, 1000, 1000.0, True), 0.70, 0.03)
    assert t.method == "exact binomial"
    assert t.p_lower == pytest.approx(stats.binom.sf(699, 1000, 0.67))
    assert t.p_upper == pytest.approx(stats.binom.cdf(700, 1000, 0.73))
    assert t.p_value == max(t.p_lower, t.p_upper) < 0.05
    # 30/50 cannot show equivalence within 3 points
    assert equivalence_test(Evidence(0.6, 50, 50.0, True), 0.6, 0.03).p_value > 0.3


def test_tost_normal_with_effective_n():
    ev = evidence_from(0.85, 5700, 0.004, "stratified")
    assert ev.n_eff == pytest.approx(0.85 * 0.15 / 0.004**2)
    t = equivalence_test(ev, 0.86, 0.03)
    se_lo = math.sqrt(0.83 * 0.17 / ev.n_eff)
    assert t.method == "normal" and t.p_lower == pytest.approx(stats.norm.sf((0.85 - 0.83) / se_lo))


def test_holm_by_hand():
    # sorted 0.01, 0.03, 0.04, 0.5 -> 4*0.01, max(.04, 3*.03), max(.09, 2*.04), max(.09, .5)
    assert holm_adjust([0.01, 0.04, 0.03, 0.5]) == pytest.approx([0.04, 0.09, 0.09, 0.5])
    assert holm_adjust([]) == []
    assert holm_adjust([0.2]) == [0.2]
    assert holm_adjust([0.6, 0.7]) == [1.0, 1.0]


def test_holm_matches_statsmodels():
    multitest = pytest.importorskip("statsmodels.stats.multitest")
    ps = [0.001, 0.2, 0.013, 0.04, 0.049, 0.9]
    ref = multitest.multipletests(ps, method="holm")[1]
    assert holm_adjust(ps) == pytest.approx(list(ref))
