"""The e-process arithmetic: validity under the null, the likelihood-ratio identity, power bounds."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.fingerprint.evalues import (
    LAMBDAS,
    bernoulli_ys,
    betting_eprocess,
    clopper_pearson_upper,
    detectable_rate,
    smallest_rejecting_count,
    threshold,
)


def test_single_lambda_is_the_bernoulli_likelihood_ratio():
    q0, q1 = 0.05, 0.4
    lam = (q1 - q0) / (1 - q0)
    xs = [1, 0, 0, 1, 0]
    e = betting_eprocess(bernoulli_ys(xs, q0), lambdas=(lam,))
    lr = math.prod((q1 / q0) if x else ((1 - q1) / (1 - q0)) for x in xs)
    assert e.final == pytest.approx(lr)


def test_sup_is_the_running_maximum_and_never_below_one():
    e = betting_eprocess([10.0, 0.0, 0.0, 0.0])
    assert e.sup > e.final and e.sup >= 1.0
    assert betting_eprocess([]).sup == 1.0 and betting_eprocess([]).final == 1.0


def test_rejects_negative_or_nan_observations():
    with pytest.raises(ValueError):
        betting_eprocess([-0.1])
    with pytest.raises(ValueError):
        betting_eprocess([float("nan")])


def test_ville_bound_holds_under_the_null_at_any_stopping_time():
    """Null: Bernoulli(q0) outcomes, Y = X / q0 (mean exactly 1). The chance that the e-process *ever*
    reaches 1/a over 60 observations is at most a (Ville); simulated with a fixed seed."""
    rng = np.random.default_rng(0)
    q0, a, runs = 0.05, 0.05, 2000
    crossed = 0
    for _ in range(runs):
        xs = rng.random(60) < q0
        crossed += betting_eprocess(bernoulli_ys(list(xs), q0)).sup >= 1 / a
    # the bound is a; with 2000 runs the binomial sd at 0.05 is 0.005
    assert crossed / runs <= a + 0.015


def test_power_against_a_clear_alternative():
    ys = bernoulli_ys([True] * 4 + [False] * 4, 0.01)
    assert betting_eprocess(ys).sup >= threshold(0.3, 0.01)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(min_value=0, max_value=50), max_size=20), st.floats(min_value=0, max_value=50))
def test_a_larger_observation_never_lowers_the_evidence(ys, extra):
    """Monotone: raising any observation raises every component's wealth, so E and its sup."""
    base = betting_eprocess([*ys, extra])
    more = betting_eprocess([*ys, extra + 1.0])
    assert more.final >= base.final - 1e-12 and more.sup >= base.sup - 1e-12


def test_threshold_and_detectable_rate():
    assert threshold(0.2, 0.01) == pytest.approx(500)
    assert threshold(0.0, 0.01) == math.inf
    k = smallest_rejecting_count(16, 0.01, threshold(0.3, 0.01))
    assert k is not None and 1 <= k <= 4
    q16 = detectable_rate(16, 0.01, threshold(0.3, 0.01))
    q32 = detectable_rate(32, 0.01, threshold(0.3, 0.01))
    assert 0 < q32 < q16 < 1  # more observations, smaller detectable rate


def test_clopper_pearson_upper_matches_the_rule_of_three():
    assert clopper_pearson_upper(0, 3000) == pytest.approx(1 - 0.05 ** (1 / 3000), rel=1e-6)
    assert clopper_pearson_upper(0, 0) == 1.0
    assert tuple(sorted(LAMBDAS)) == LAMBDAS and max(LAMBDAS) < 1
