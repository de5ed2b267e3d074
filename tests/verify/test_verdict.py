"""Verdict rules on hand-built measurements: each label, its reasons, and the rule order."""

from __future__ import annotations

import pytest

from harness.verify.ceilings import gsm8k_ceiling, label_error_ceiling
from harness.verify.statistics import measure, test_claim
from harness.verify.verdict import describe_measurement, format_p, judge_claim


def bits(k: int, n: int) -> list[float]:
    return [1.0] * k + [0.0] * (n - k)


def test_gsm8k_claim_of_99_2_is_implausible_whatever_was_measured():
    ceiling = label_error_ceiling("gsm8k")
    # 1 - 0.5 * 110/1319 = 0.958302; SD sqrt(110 * 0.25)/1319 = 0.0039758; high = +1.95996 SD = 0.966094
    assert ceiling.value == pytest.approx(0.958302, abs=1e-6)
    assert ceiling.value_high == pytest.approx(0.966094, abs=1e-6)
    for measured in (bits(1319, 1319), bits(1300, 1319), bits(700, 1319)):
        v = judge_claim("gsm8k", 0.992, measure(measured), ceiling)
        assert v.label == "implausible"
        assert "99.2%" in v.reasons[0] and "96.6%" in v.reasons[0]
        assert "GSM8K-Platinum" in v.reasons[1]
    # no measurement at all: still implausible (rule 1 comes first)
    assert judge_claim("gsm8k", 0.992, None, ceiling).label == "implausible"


def test_claim_just_under_the_ceiling_is_judged_on_the_measurement():
    v = judge_claim("gsm8k", 0.96, measure(bits(1266, 1319)), gsm8k_ceiling())  # 96.0% measured
    assert v.label == "reproduced"


def test_below_claim_by_hand():
    # ARC-Challenge-sized: 483/1172 = 41.2% against a claim of 53.5%: z = -8.43, p ~ 3e-17
    m = measure(bits(483, 1172))
    v = judge_claim("arc_challenge", 0.535, m, None)
    assert v.label == "below claim"
    assert "12.3 points below the claimed 53.5%" in v.reasons[0]
    assert "p < 0.001" in v.reasons[0]
    assert "no published label-error audit" in v.reasons[1]


def test_above_claim():
    v = judge_claim("arc_easy", 0.60, measure(bits(1663, 2376)), None)  # 70.0%
    assert v.label == "above claim"


def test_reproduced_on_a_full_arc_challenge_sized_run():
    # 700/1172 = 59.7% vs 60.0%: not significant, and n=1172 detects ~4.0 points (< 5-point resolution)
    m = measure(bits(700, 1172))
    t = test_claim(m, 0.60)
    assert 0.039 < t.minimum_detectable_gap < 0.042
    v = judge_claim("arc_challenge", 0.60, m, None, t)
    assert v.label == "reproduced"
    assert "not significantly different" in v.reasons[0]


def test_agreement_on_too_few_items_is_inconclusive():
    v = judge_claim("arc_easy", 0.60, measure(bits(30, 50)), None)  # exactly 60% but n=50
    assert v.label == "inconclusive"
    assert "too few items" in v.reasons[0]


def test_large_but_insignificant_gap_is_inconclusive():
    v = judge_claim("arc_easy", 0.60, measure(bits(5, 10)), None)  # 50% on 10 items
    assert v.label == "inconclusive"
    assert "not significant" in v.reasons[0]


def test_significant_gap_within_tolerance_is_reproduced():
    # 14042 items at 70.0% vs claim 71.5%: z ~ -3.9, significant, but within 3 points
    v = judge_claim("hellaswag", 0.715, measure(bits(9829, 14042)), None)
    assert v.label == "reproduced"
    assert "statistically distinguishable but within" in v.reasons[0]


def test_monotone_in_gap_for_fixed_n():
    order = {"above claim": 0, "reproduced": 1, "inconclusive": 1, "below claim": 2}
    m = measure(bits(600, 1000))
    labels = [judge_claim("arc_easy", c / 100, m, None).label for c in range(55, 75)]
    ranks = [order[label] for label in labels]
    assert ranks == sorted(ranks)
    assert labels[0] == "above claim" and labels[-1] == "below claim"


def test_mismatched_claim_test_and_percent_inputs_are_rejected():
    m = measure(bits(6, 10))
    with pytest.raises(ValueError, match="claim_test is for claim"):
        judge_claim("arc_easy", 0.5, m, None, test_claim(m, 0.6))
    with pytest.raises(ValueError, match="divide by 100"):
        judge_claim("arc_easy", 60.0, m, None)


def test_wording_helpers():
    assert format_p(0.0004) == "p < 0.001"
    assert format_p(0.0123) == "p = 0.012"
    text = describe_measurement(measure(bits(45, 60)))
    assert text == "measured 75.0% (SE 5.6; 95% CI 62.8-84.2, n=60)"
    clustered = describe_measurement(measure(bits(4, 8), ["a", "a", "b", "b", "c", "c", "d", "d"]))
    assert "clustered by 4 subjects" in clustered
