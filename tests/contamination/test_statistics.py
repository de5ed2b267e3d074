"""The tests' false-alarm rates are checked on simulated null data (exchangeable versions), with an
exact (Clopper-Pearson) bound, and their power on data where the original is favoured."""

import numpy as np
import pytest
from scipy import stats

from harness.contamination.statistics import (
    contrasts,
    exact_rank_sum_p,
    mcnemar_exact,
    pooled_scale,
    ranks_among_versions,
    shard_order_test,
    standardised_contrasts,
    two_sample_test,
    version_permutation_test,
)

ALPHA = 0.05
RUNS = 300


def _upper_bound(rejections: int, runs: int, level: float = 0.99) -> float:
    return float(stats.beta.ppf(level, rejections + 1, runs - rejections))


def test_contrasts_and_scale_do_not_depend_on_which_version_is_original():
    rng = np.random.default_rng(0)
    s = rng.normal(size=(20, 3))
    c = contrasts(s)
    assert np.allclose(c[:, 0], s[:, 0] - s[:, 1:].mean(axis=1))
    swapped = s[:, [1, 0, 2]]
    assert np.allclose(contrasts(swapped)[:, 0], c[:, 1])
    assert pooled_scale(s) == pytest.approx(pooled_scale(swapped))


def test_version_test_holds_its_level_on_exchangeable_versions():
    rng = np.random.default_rng(1)
    rejections = 0
    for run in range(RUNS):
        # heavy-tailed item effects, discrete accuracy and continuous log-likelihood streams
        item = rng.standard_t(2, size=(30, 1)) * 5
        ll = item + rng.normal(size=(30, 3))
        acc = (rng.random((30, 3)) < 0.4).astype(float)
        combined, _ = standardised_contrasts({"ll": ll, "acc": acc})
        p = version_permutation_test(combined, name="t", permutations=199, seed=run, alpha=ALPHA).p_value
        rejections += p < ALPHA
    assert _upper_bound(rejections, RUNS) > ALPHA * 0.5  # not absurdly conservative
    assert rejections / RUNS <= ALPHA + 3 * np.sqrt(ALPHA * (1 - ALPHA) / RUNS)


def test_version_test_finds_memorised_items():
    rng = np.random.default_rng(2)
    ll = rng.normal(size=(30, 3))
    ll[:8, 0] += 6  # eight items memorised
    result = version_permutation_test(contrasts(ll), name="ll", permutations=999, seed=0)
    assert result.p_value < 0.01
    assert result.ci_low is not None and result.ci_low > 0


def test_two_sample_test_level_and_power():
    rng = np.random.default_rng(3)
    rejections = 0
    for run in range(RUNS):
        x, y = rng.normal(size=25), rng.normal(size=25)
        rejections += two_sample_test(x, y, name="t", permutations=199, seed=run).p_value < ALPHA
    assert rejections / RUNS <= ALPHA + 3 * np.sqrt(ALPHA * (1 - ALPHA) / RUNS)
    shifted = two_sample_test(rng.normal(size=25) + 1.5, rng.normal(size=25), name="t", permutations=999)
    assert shifted.p_value < 0.01 and shifted.statistic > 0


def test_mcnemar_exact_matches_the_binomial_on_discordant_pairs():
    o = np.array([1] * 9 + [0] * 1 + [1] * 5 + [0] * 5)
    t = np.array([0] * 9 + [1] * 1 + [1] * 5 + [0] * 5)
    r = mcnemar_exact(o, t)
    assert (r["original_only"], r["twin_only"]) == (9, 1)
    assert r["p_value"] == pytest.approx(stats.binomtest(9, 10, 0.5, alternative="greater").pvalue, rel=1e-5)
    assert mcnemar_exact(o, o)["p_value"] == 1.0


def test_exact_rank_sum_is_uniform_under_the_null():
    assert exact_rank_sum_p(np.array([0, 0, 0]), 3) == pytest.approx(1.0)
    assert exact_rank_sum_p(np.array([2, 2, 2]), 3) == pytest.approx((1 / 3) ** 3)
    rng = np.random.default_rng(4)
    ps = [exact_rank_sum_p(rng.integers(0, 4, size=12), 4) for _ in range(2000)]
    assert np.mean(np.array(ps) < 0.05) <= 0.05 + 0.015  # discrete, so at most the level


def test_ranks_break_ties_at_random():
    s = np.array([[1.0, 1.0, 1.0]] * 3000)
    ranks = ranks_among_versions(s, seed=0)
    assert set(np.unique(ranks)) == {0, 1, 2}
    assert abs(ranks.mean() - 1.0) < 0.06


def test_shard_order_test():
    rng = np.random.default_rng(5)
    shuffled = rng.normal(size=(10, 8))
    null = shard_order_test(rng.normal(size=10), shuffled)
    seen = shard_order_test(shuffled.mean(axis=1) + 3, shuffled)
    assert seen["t_test_p_value"] < 0.001 and seen["rank_test_p_value"] < 0.001
    assert null["rank_test_p_value"] > 0.001
