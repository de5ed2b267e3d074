"""Statistics of a benchmark score: hand-computed values, scipy cross-checks, properties."""

from __future__ import annotations

import math

import numpy as np
import orjson
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy import stats

from harness.verify import statistics as S
from harness.verify.statistics import (
    clustered_standard_error,
    compare_subsets,
    measure,
    minimum_detectable_gap,
    wilson_interval,
)

Z95 = 1.959963984540054


def bits(k: int, n: int) -> list[float]:
    return [1.0] * k + [0.0] * (n - k)


# --- Wilson interval -------------------------------------------------------------------------------


def test_wilson_45_of_60_by_hand():
    # p = 0.75, z^2 = 3.841459, z^2/n = 0.0640243
    # centre = (0.75 + 0.0320122) / 1.0640243 = 0.734962
    # half   = 1.959964 / 1.0640243 * sqrt(0.75*0.25/60 + 3.841459/(4*60^2))
    #        = 1.842024 * sqrt(0.003125 + 0.000266768) = 1.842024 * 0.0582389 = 0.107276
    low, high = wilson_interval(45, 60)
    assert low == pytest.approx(0.627686, abs=2e-5)
    assert high == pytest.approx(0.842238, abs=2e-5)


@pytest.mark.parametrize("n", [1, 2, 3, 7, 10, 60, 1172, 14042])
def test_wilson_matches_scipy_on_integers(n):
    for k in sorted({0, 1, n // 3, n // 2, n - 1, n} - {-1}):
        if not 0 <= k <= n:
            continue
        ref = stats.binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
        low, high = wilson_interval(k, n)
        assert low == pytest.approx(ref.low, abs=1e-12)
        assert high == pytest.approx(ref.high, abs=1e-12)


def test_wilson_edges_by_formula():
    # 0 successes: [0, z^2/(n+z^2)]; n successes: [n/(n+z^2), 1]
    z2 = Z95**2
    for n in (1, 5, 100):
        assert wilson_interval(0, n) == (0.0, pytest.approx(z2 / (n + z2)))
        assert wilson_interval(n, n) == (pytest.approx(n / (n + z2)), 1.0)
    # n = 1, one success: [1/(1+3.841459), 1] = [0.206549, 1]
    assert wilson_interval(1, 1)[0] == pytest.approx(0.206549, abs=1e-6)


def test_wilson_huge_n_approaches_normal_interval():
    n = 10**9
    low, high = wilson_interval(n // 2, n)
    half = Z95 * math.sqrt(0.25 / n)
    assert low == pytest.approx(0.5 - half, rel=1e-9)
    assert high == pytest.approx(0.5 + half, rel=1e-9)


@pytest.mark.parametrize("args", [(1, 0), (-1, 10), (11, 10), (5, 10, 1.0), (5, 10, 0.0)])
def test_wilson_rejects_bad_input(args):
    with pytest.raises(ValueError):
        wilson_interval(*args)


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 100_000), frac=st.floats(0, 1), conf=st.sampled_from([0.8, 0.9, 0.95, 0.99]))
def test_wilson_contains_estimate_and_stays_in_unit_interval(n, frac, conf):
    k = round(frac * n)
    low, high = wilson_interval(k, n, conf)
    assert 0.0 <= low <= k / n <= high <= 1.0


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 50_000), frac=st.floats(0, 1))
def test_wilson_narrows_with_more_items(n, frac):
    k = round(frac * n)
    low1, high1 = wilson_interval(k, n)
    low2, high2 = wilson_interval(2 * k, 2 * n)
    assert high2 - low2 < high1 - low1


# --- standard errors -------------------------------------------------------------------------------


def test_binomial_se_by_hand():
    m = measure(bits(45, 60))
    assert m.score == 0.75
    assert m.se == pytest.approx(math.sqrt(0.75 * 0.25 / 60))  # 0.0559017
    assert m.se_method == "binomial" and m.n_clusters is None and m.design_effect == 1.0
    assert (m.ci_low, m.ci_high) == wilson_interval(45, 60)


def test_clustered_se_three_clusters_by_hand():
    # a = [1, 1, 0], b = [0, 0], c = [1, 1, 1, 1]; n = 9, mean = 6/9 = 2/3
    # residual sums: a: 2 - 3*(2/3) = 0;  b: 0 - 2*(2/3) = -4/3;  c: 4 - 4*(2/3) = 4/3
    # Var = G/(G-1) * (0 + 16/9 + 16/9) / n^2 = 1.5 * (32/9) / 81 = 0.0658436;  SE = 0.256600
    values = [1, 1, 0, 0, 0, 1, 1, 1, 1]
    clusters = ["a", "a", "a", "b", "b", "c", "c", "c", "c"]
    assert clustered_standard_error(values, clusters) == pytest.approx(0.256600, abs=1e-6)
    m = measure(values, clusters)
    # binomial variance (2/3)(1/3)/9 = 0.0246914, so the design effect is 0.0658436/0.0246914 = 8/3
    assert m.design_effect == pytest.approx(8 / 3)
    assert m.se == pytest.approx(0.256600, abs=1e-6)
    assert m.se_method == "clustered" and m.n_clusters == 3
    # the interval is Wilson with effective n = 9 / (8/3) = 3.375 and successes (2/3) * 3.375 = 2.25
    assert (m.ci_low, m.ci_high) == pytest.approx(wilson_interval(2.25, 3.375))


def test_clustered_se_with_singleton_clusters_is_the_sample_variance_form():
    rng = np.random.default_rng(0)
    x = rng.random(200)
    se = clustered_standard_error(x, [str(i) for i in range(200)])
    assert se == pytest.approx(float(np.std(x, ddof=1)) / math.sqrt(200))


def test_design_effect_is_floored_at_one():
    # every cluster has the overall mean, so the residual sums (and the clustered SE) are 0
    m = measure([1, 0, 1, 0, 1, 0], ["a", "a", "b", "b", "c", "c"])
    assert m.design_effect == 1.0
    assert m.se == pytest.approx(math.sqrt(0.25 / 6))
    assert (m.ci_low, m.ci_high) == wilson_interval(3, 6)


def test_clustered_all_correct_and_all_wrong():
    for v in (0.0, 1.0):
        m = measure([v] * 6, ["a", "a", "b", "b", "c", "c"])
        assert m.se == 0.0 and m.design_effect == 1.0
        assert (m.ci_low, m.ci_high) == wilson_interval(6 * v, 6)


def test_one_cluster_falls_back_to_binomial():
    m = measure([1, 0, 1], ["only", "only", "only"])
    assert m.se_method == "binomial" and m.n_clusters is None
    with pytest.raises(ValueError, match="two clusters"):
        clustered_standard_error([1, 0, 1], ["only"] * 3)


@pytest.mark.parametrize("bad", [[], [1.5], [float("nan")], [-0.1]])
def test_measure_rejects_bad_scores(bad):
    with pytest.raises(ValueError):
        measure(bad)


def test_measure_rejects_cluster_length_mismatch():
    with pytest.raises(ValueError, match="cluster labels"):
        measure([1, 0], ["a"])


def test_clustered_mmlu_like_sample_is_wider_than_binomial():
    # 57 subjects of 100 items whose accuracies differ by subject: the clustered SE must exceed the
    # binomial one and the interval must still contain the estimate
    rng = np.random.default_rng(1)
    acc = rng.uniform(0.3, 0.9, 57)
    x = (rng.random((57, 100)) < acc[:, None]).astype(float).ravel()
    labels = [f"s{i}" for i in range(57) for _ in range(100)]
    m = measure(x, labels)
    b = measure(x)
    assert m.se > b.se and m.design_effect > 1.0
    assert m.ci_high - m.ci_low > b.ci_high - b.ci_low
    assert m.ci_low < m.score < m.ci_high


# --- test of a claim -------------------------------------------------------------------------------


def test_claim_below_by_hand():
    # 483/1172 = 0.412116 against 0.535: SE0 = sqrt(0.535*0.465/1172) = 0.0145693
    # z = (0.412116 - 0.535) / 0.0145693 = -8.4344; two-sided p = 2 * Phi(-8.4344) ~ 3.3e-17
    t = S.test_claim(measure(bits(483, 1172)), 0.535)
    assert t.se == pytest.approx(0.0145693, abs=1e-7)
    assert t.z == pytest.approx(-8.4344, abs=1e-3)
    assert t.p_value == pytest.approx(2 * stats.norm.cdf(t.z), rel=1e-9)
    assert t.method == "score"
    # minimum detectable gap ~ (1.95996 + 0.84162) * 0.0145693 = 0.04082
    assert t.minimum_detectable_gap == pytest.approx(0.0408, abs=5e-4)


def test_claim_uses_exact_binomial_test_for_small_samples():
    t = S.test_claim(measure(bits(45, 60)), 0.9)  # 60 * 0.1 = 6 expected failures < 10
    assert t.method == "exact"
    assert t.p_value == pytest.approx(stats.binomtest(45, 60, 0.9).pvalue)


def test_claim_of_exactly_one():
    perfect = S.test_claim(measure([1.0] * 5), 1.0)
    assert perfect.p_value == 1.0 and perfect.z == 0.0
    # k/(1+k) with k = z_0.8^2 / 5 = 0.708/5: a 5-item sample cannot vouch for a perfect score
    k = stats.norm.ppf(0.8) ** 2 / 5
    assert perfect.minimum_detectable_gap == pytest.approx(k / (1 + k))
    broken = S.test_claim(measure([1.0] * 4 + [0.0]), 1.0)
    assert broken.p_value == 0.0 and broken.z == -math.inf
    assert broken.to_dict()["z"] is None
    orjson.dumps(broken.to_dict())


def test_claim_in_percent_is_rejected_with_a_hint():
    with pytest.raises(ValueError, match="divide by 100"):
        S.test_claim(measure([1, 0]), 99.2)


def test_clustered_claim_test_inflates_se_by_design_effect():
    values = [1, 1, 0, 0, 0, 1, 1, 1, 1] * 20
    clusters = [c + str(r) for r in range(20) for c in ["a", "a", "a", "b", "b", "c", "c", "c", "c"]]
    m = measure(values, clusters)
    t = S.test_claim(m, 0.5)
    assert t.method == "score"
    assert t.se == pytest.approx(math.sqrt(m.design_effect * 0.25 / m.n))


@settings(max_examples=100, deadline=None)
@given(n=st.integers(50, 5000), frac=st.floats(0, 1), c=st.floats(0.05, 0.95))
def test_score_test_agrees_with_wilson_interval(n, frac, c):
    # inverting the score test gives the Wilson interval: p < 0.05 exactly when c is outside it
    assume(min(n * c, n * (1 - c)) >= S.EXACT_TEST_MIN_EXPECTED)
    m = measure(bits(round(frac * n), n))
    t = S.test_claim(m, c)
    assume(abs(t.p_value - 0.05) > 1e-9)
    assert (t.p_value < 0.05) == (c < m.ci_low or c > m.ci_high)


def test_minimum_detectable_gap_has_the_stated_power():
    # reject below when p_hat < c - z_a*s(c); under the alternative c - d the power is
    # Phi((d - z_a s(c)) / s(c - d)), which must be 0.8
    za, zb = stats.norm.ppf(0.975), stats.norm.ppf(0.8)
    for c, n in [(0.6, 400), (0.9, 1319), (0.99, 1000)]:
        d = minimum_detectable_gap(c, n)
        s0, s1 = math.sqrt(c * (1 - c) / n), math.sqrt((c - d) * (1 - c + d) / n)
        assert stats.norm.cdf((d - za * s0) / s1) == pytest.approx(0.8, abs=1e-9)
        assert d == pytest.approx((za + zb) * s0, rel=0.35)


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 100_000), c=st.floats(0, 1))
def test_minimum_detectable_gap_shrinks_with_n(n, c):
    small, large = minimum_detectable_gap(c, n), minimum_detectable_gap(c, 2 * n)
    # inf (nothing detectable) may stay inf for tiny n; a finite gap must shrink
    assert large < small or (math.isinf(small) and large <= small)


# --- clean versus dirty ----------------------------------------------------------------------------


def test_compare_subsets_by_hand_and_against_chi_square():
    # clean 40/50 = 0.8, dirty 45/50 = 0.9; difference = dirty - clean = 0.1
    # unpooled SE = sqrt(0.8*0.2/50 + 0.9*0.1/50) = sqrt(0.005) = 0.0707107
    # pooled p = 0.85: SE0 = sqrt(0.85*0.15*(2/50)) = 0.0714143; z = 1.40028
    correct = bits(40, 50) + bits(45, 50)
    flags = [True] * 50 + [False] * 50
    d = compare_subsets(correct, flags)
    assert d.clean.score == 0.8 and d.dirty.score == 0.9
    assert d.difference == pytest.approx(0.1)
    assert d.se == pytest.approx(0.0707107, abs=1e-7)
    assert d.z == pytest.approx(1.40028, abs=1e-5)
    assert d.method == "score"
    chi2 = stats.chi2_contingency([[45, 5], [40, 10]], correction=False)
    assert d.p_value == pytest.approx(chi2.pvalue)  # the pooled z-test is the chi-square test
    orjson.dumps(d.to_dict())


def test_compare_subsets_small_counts_use_fisher():
    correct = [1, 1, 1, 0, 1, 0, 0, 0, 1, 1]
    flags = [True] * 5 + [False] * 5
    d = compare_subsets(correct, flags)
    assert d.method == "fisher"
    assert d.p_value == pytest.approx(stats.fisher_exact([[2, 3], [4, 1]]).pvalue)


def test_compare_subsets_identical_perfect_subsets():
    d = compare_subsets([1.0] * 30, [True] * 15 + [False] * 15)
    assert d.difference == 0.0 and d.p_value == 1.0


def test_compare_subsets_clustered():
    rng = np.random.default_rng(2)
    x = (rng.random(600) < 0.6).astype(float)
    labels = [f"s{i % 12}" for i in range(600)]
    flags = rng.random(600) < 0.7
    d = compare_subsets(x, flags, labels)
    assert d.clean.se_method == "clustered" and d.dirty.se_method == "clustered"
    assert d.method == "score"
    assert d.clean.n + d.dirty.n == 600


@pytest.mark.parametrize("flags", [[True] * 4, [False] * 4, [True] * 3])
def test_compare_subsets_rejects_degenerate_splits(flags):
    with pytest.raises(ValueError):
        compare_subsets([1, 0, 1, 0], flags)


def test_to_dict_is_json_ready():
    m = measure(bits(3, 7))
    d = m.to_dict()
    assert set(d) >= {"score", "n", "se", "ci_low", "ci_high", "se_method", "n_clusters", "confidence"}
    assert orjson.loads(orjson.dumps(d)) == d


# --- stratified estimate (MMLU subjects weighted by their test-set size) ---------------------------


def test_stratified_estimate_by_hand():
    # a: [1,1,0,0] of N=100, b: [1,1,1,0] of N=300: W = 0.25, 0.75
    # mean = 0.25*0.5 + 0.75*0.75 = 0.6875
    # Var = 0.25^2 * (1/3)/4 + 0.75^2 * 0.25/4 = 0.0052083 + 0.0351563 = 0.0403646; SE = 0.200910
    est = S.stratified_estimate([1, 1, 0, 0, 1, 1, 1, 0], list("aaaabbbb"), {"a": 100, "b": 300, "c": 50})
    assert est["score"] == pytest.approx(0.6875)
    se = math.sqrt(0.25**2 * (1 / 3) / 4 + 0.75**2 * 0.25 / 4)
    assert est["se"] == pytest.approx(se) and se == pytest.approx(0.200910, abs=1e-6)
    assert est["ci_low"] == pytest.approx(0.6875 - Z95 * se) and est["ci_high"] == 1.0
    assert (est["strata"], est["population"]) == (2, 400)  # only the strata scored are weighted


def test_stratified_estimate_equals_the_mean_when_proportional():
    values = [1, 0, 1, 1, 0, 0]
    est = S.stratified_estimate(values, list("aabbcc"), {"a": 10, "b": 10, "c": 10})
    assert est["score"] == pytest.approx(np.mean(values))


def test_stratified_estimate_single_item_strata_borrow_the_overall_variance():
    est = S.stratified_estimate([1, 0], ["a", "b"], {"a": 1, "b": 1})
    # each stratum: W = 0.5, s^2 = var([1, 0], ddof=1) = 0.5; Var = 2 * 0.25 * 0.5 = 0.25
    assert est["se"] == pytest.approx(0.5)


def test_stratified_estimate_bad_input():
    with pytest.raises(ValueError, match="no population size"):
        S.stratified_estimate([1], ["x"], {"a": 1})
    with pytest.raises(ValueError, match="only 1"):
        S.stratified_estimate([1, 0], ["a", "a"], {"a": 1})
    with pytest.raises(ValueError, match="stratum labels"):
        S.stratified_estimate([1, 0], ["a"], {"a": 5})
