import math

import numpy as np
import pytest
from scipy import stats as sps

from harness.fingerprint import statistics as st


def test_cluster_t_matches_cr1_formula_and_singleton_clusters_reduce_to_sample_se():
    groups = [np.array([1.0, 2.0]), np.array([3.0]), np.array([0.5, 0.5, 2.0])]
    r = st.cluster_t(groups)
    x = np.concatenate(groups)
    mean = x.mean()
    resid = np.array([(g - mean).sum() for g in groups])
    se = math.sqrt(3 / 2 * (resid**2).sum()) / len(x)
    assert r.mean == pytest.approx(mean) and r.se == pytest.approx(se) and r.t == pytest.approx(mean / se)
    single = st.cluster_t([np.array([v]) for v in x])
    assert single.se == pytest.approx(x.std(ddof=1) / math.sqrt(len(x)))


def test_cluster_t_degenerate_inputs():
    assert math.isnan(st.cluster_t([np.array([1.0, 2.0])]).t)  # one cluster: no SE
    assert math.isnan(st.cluster_t([]).mean)


def test_calibrated_drift_test_is_student_t_on_the_null_rms():
    r = st.calibrated_drift_test(6.0, [2.0, -2.0, 2.0, -2.0])
    assert r.null_scale == pytest.approx(2.0) and r.statistic == pytest.approx(3.0) and r.df == 4
    assert r.p_value == pytest.approx(2 * sps.t.sf(3.0, 4))
    # a null narrower than the observed value's own standard error is floored at that SE
    assert st.calibrated_drift_test(3.0, [0.1, -0.1], floor=1.0).null_scale == 1.0
    assert st.calibrated_drift_test(3.0, [0.1, -0.1]).null_scale == pytest.approx(0.1)
    assert math.isnan(st.calibrated_drift_test(3.0, []).p_value)


def test_calibrated_drift_test_has_its_nominal_level_under_the_null():
    rng = np.random.default_rng(0)
    rejections = 0
    trials = 4000
    for _ in range(trials):
        phi = rng.uniform(1.0, 3.0)
        null = rng.normal(0, phi, 6)
        obs = rng.normal(0, phi)
        rejections += st.calibrated_drift_test(obs, null).p_value < 0.05
    # exactly Student's t: the rate is the nominal 5% (binomial SE 0.34%)
    assert 0.04 < rejections / trials < 0.06


def test_paired_band_test_directions_and_detectable():
    band = [0.01] * 10
    inside = st.paired_band_test([0.005 + 0.0001 * i for i in range(10)], band, 2.0, 0.01)
    assert inside.p_within < 1e-6 and inside.p_above > 0.99 and inside.ratio == pytest.approx(0.545, rel=0.01)
    outside = st.paired_band_test([0.05 + 0.001 * i for i in range(10)], band, 2.0, 0.01)
    assert outside.p_above < 1e-6 and outside.p_within > 0.99
    assert outside.detectable > 0.02  # the band itself plus a power margin


def test_mmd_permutation_test_rejects_different_and_accepts_same_distributions():
    rng = np.random.default_rng(1)
    same = [rng.integers(0, 3, (8, 6)) for _ in range(6)]
    same_b = [rng.integers(0, 3, (8, 6)) for _ in range(6)]
    r = st.mmd_permutation_test(same, same_b, 300, seed=0)
    assert r.p_value > 0.01 and r.prompts == 6
    other = [rng.integers(3, 6, (8, 6)) for _ in range(6)]
    r2 = st.mmd_permutation_test(same, other, 300, seed=0)
    assert r2.p_value <= 1 / 301 + 1e-12 and r2.mmd2 > 0.5
    # deterministic for a seed
    assert st.mmd_permutation_test(same, other, 50, seed=3) == st.mmd_permutation_test(
        same, other, 50, seed=3
    )


def test_mmd_padding_never_counts_as_agreement():
    a = [np.full((3, 4), -1)]
    r = st.mmd_permutation_test(a, [np.full((3, 4), -1)], 20, seed=0)
    assert r.mmd2 == 0.0


def test_fisher_binomial_and_holm():
    assert st.fisher_exact_greater(4, 0, 0, 16) == pytest.approx(1 / math.comb(20, 4))
    assert st.fisher_exact_greater(0, 0, 1, 1) == 1.0
    assert st.binomial_tail(0, 10, 0.05) == 1.0
    assert st.binomial_tail(10, 10, 0.5) == pytest.approx(0.5**10)
    assert st.holm([0.01, 0.04, 0.03, float("nan")])[:3] == pytest.approx([0.03, 0.06, 0.06])
    assert math.isnan(st.holm([0.01, float("nan")])[1])
