"""Verdict rules on hand-built measurements: each label, its reasons, the family correction, the order."""

from __future__ import annotations

import pytest

from harness.verify.ceilings import label_error_ceiling
from harness.verify.statistics import measure
from harness.verify.verdict import (
    ClaimInput,
    Truncation,
    describe_measurement,
    format_p,
    judge_claims,
    status_of,
)


def bits(k: int, n: int) -> list[float]:
    return [1.0] * k + [0.0] * (n - k)


def judge(benchmark, claimed, measured=None, **kw):
    ceiling = label_error_ceiling(benchmark)
    c = ClaimInput(benchmark, claimed, measurement=measured, ceiling=ceiling, **kw)
    return judge_claims([c]).judgements[0].verdict


def test_honest_frontier_gsm8k_is_reproduced_not_accused():
    # Llama 3.1 405B Instruct's published 96.8 (8-shot CoT), measured 1277/1319 = 96.8%
    v = judge("gsm8k", 0.968, measure(bits(1277, 1319)))
    assert v.label == "reproduced"
    assert "equivalence within ±3.0 points shown" in v.reasons[0]


def test_impossible_claims_are_implausible_whatever_was_measured():
    for benchmark, claimed in (("gsm8k", 0.999), ("gsm8k", 1.0), ("mmlu", 0.99)):
        for m in (None, measure(bits(100, 100)), measure(bits(40, 100))):
            v = judge(benchmark, claimed, m)
            assert v.label == "implausible", (benchmark, claimed)
            assert "demonstrated label errors" in v.reasons[0]
    v = judge("mmlu", 0.99)
    assert "MMLU-Redux" in v.reasons[1] and "Holm-adjusted" in v.reasons[0]


def test_below_claim_by_hand():
    # ARC-Challenge-sized: 483/1172 = 41.2% against a claim of 53.5%
    v = judge("arc_challenge", 0.535, measure(bits(483, 1172)))
    assert v.label == "below claim"
    assert "12.3 points below the claimed 53.5%" in v.reasons[0]
    assert "p < 0.001" in v.reasons[0] and "anytime-valid" in v.reasons[0]
    assert "no published label-error audit" in v.reasons[1]


def test_a_setting_difference_turns_below_claim_into_setting_not_reproduced():
    diff = ("shots: claim 8, run 5",)
    v = judge("arc_challenge", 0.535, measure(bits(483, 1172)), setting_differences=diff)
    assert v.label == "setting not reproduced"
    assert "shots: claim 8, run 5" in v.reasons[0]


def test_truncation_that_could_explain_the_gap():
    # GSM8K: 560/800 right (70%) against a claim of 80%; 90 wrong answers hit the 256-token cap
    m = measure(bits(560, 800))
    cut = Truncation(256, 800, 95, 90, 40, 38, "tokens")
    v = judge("gsm8k", 0.80, m, truncation=cut)
    assert v.label == "setting not reproduced"
    assert "95 of 800 generations reached the 256-token cap" in v.reasons[0]
    # a handful of cut generations cannot explain a 10-point gap
    few = Truncation(256, 800, 3, 3, 2, 2, "tokens")
    assert judge("gsm8k", 0.80, m, truncation=few).label == "below claim"
    # without a tokenizer, answers the strict filter could not find stand in for cut generations
    no_tok = Truncation(None, 800, None, None, 100, 90, "no tokenizer")
    v = judge("gsm8k", 0.80, m, truncation=no_tok)
    assert v.label == "setting not reproduced" and "no final answer" in v.reasons[0]


def test_above_claim():
    assert judge("arc_easy", 0.60, measure(bits(1663, 2376))).label == "above claim"  # 70.0%


def test_consistent_says_what_it_could_have_missed():
    v = judge("arc_easy", 0.60, measure(bits(30, 50)))  # exactly 60% but n=50
    assert v.label == "consistent"
    assert "the smallest true shortfall this sample flags with 80% power is" in v.reasons[1]
    assert "equivalence within ±3.0 points not shown" in v.reasons[2]


def test_reproduced_in_another_setting_is_only_consistent():
    v = judge(
        "gsm8k", 0.968, measure(bits(1277, 1319)), setting_differences=("chat template: claim no, run yes",)
    )
    assert v.label == "consistent" and "differs from the claim's" in v.reasons[0]


def test_leaning_against_but_not_significant_is_inconclusive():
    v = judge("arc_easy", 0.60, measure(bits(5, 10)))  # 50% on 10 items
    assert v.label == "inconclusive"
    assert "but not significantly" in v.reasons[0]


def test_not_measured_is_inconclusive_but_says_the_claim_is_possible():
    v = judge("gsm8k", 0.968)
    assert v.label == "inconclusive" and "at or below what the label-error ceiling allows" in v.reasons[0]
    assert judge("hellaswag", 0.9).label == "inconclusive"


def test_family_correction_can_withhold_an_accusation():
    # 519/600 = 86.5% against 94%: the shortfall p-value (0.038) lies between alpha/2 and alpha
    m = measure(bits(519, 600))
    alone = judge_claims([ClaimInput("arc_easy", 0.94, measurement=m)])
    p = alone.judgements[0].claim_test["p_value"]
    assert 0.025 < p < 0.05, p
    assert alone.judgements[0].verdict.label == "below claim"
    pair = judge_claims(
        [
            ClaimInput("arc_easy", 0.94, measurement=m),
            ClaimInput("arc_challenge", 0.5, measurement=measure(bits(300, 600))),
        ]
    )
    assert pair.judgements[0].verdict.label == "inconclusive"
    assert pair.judgements[0].claim_test["p_adjusted"] == pytest.approx(2 * p)
    assert pair.family["correction"] == "Holm" and len(pair.family["accusing_tests"]) == 2
    assert "Holm" in pair.family["statement"]


def test_monotone_in_gap_for_fixed_n():
    order = {"above claim": 0, "reproduced": 1, "consistent": 1, "inconclusive": 2, "below claim": 3}
    m = measure(bits(600, 1000))
    labels = [judge("arc_easy", c / 100, m).label for c in range(50, 76)]
    ranks = [order[label] for label in labels]
    assert ranks == sorted(ranks)
    assert labels[0] == "above claim" and labels[-1] == "below claim" and "reproduced" in labels


def test_status_table():
    assert status_of(["reproduced", "consistent", "above claim"]) == "clean"
    assert status_of(["reproduced", "setting not reproduced"]) == "unresolved"
    assert status_of(["inconclusive", "implausible"]) == "flagged"
    assert status_of(["reproduced"], incomplete=True) == "unresolved"


def test_bad_input_is_rejected():
    with pytest.raises(ValueError, match="divide by 100"):
        judge_claims([ClaimInput("arc_easy", 60.0)])
    with pytest.raises(ValueError, match="alpha"):
        judge_claims([], alpha=1.5)


def test_wording_helpers():
    assert format_p(0.0004) == "p < 0.001"
    assert format_p(0.0123) == "p = 0.012"
    text = describe_measurement(measure(bits(45, 60)))
    assert text == "measured 75.0% (SE 5.6; 95% CI 62.8-84.2, n=60)"
    clustered = describe_measurement(
        measure(bits(4, 8), ["a", "a", "b", "b", "c", "c", "d", "d"], cluster_key="activity_label")
    )
    assert "clustered by 4 activity_label" in clustered
