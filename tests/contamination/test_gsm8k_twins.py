from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.contamination.gsm8k_twins import (
    TwinError,
    check_solution,
    draw_value,
    extract_template,
    find_quantities,
    instantiate,
)
from harness.data import load_benchmark

JANET_Q = (
    "Janet’s ducks lay 16 eggs per day. She eats three for breakfast every morning and bakes muffins for "
    "her friends every day with four. She sells the remainder at the farmers' market daily for $2 per fresh "
    "duck egg. How much in dollars does she make every day at the farmers' market?"
)
JANET_A = (
    "Janet sells 16 - 3 - 4 = <<16-3-4=9>>9 duck eggs a day.\n"
    "She makes 9 * 2 = $<<9*2=18>>18 every day at the farmer’s market.\n#### 18"
)


@pytest.fixture(scope="module")
def gsm8k():
    return load_benchmark("gsm8k")


def test_janet_twin_is_consistent_and_new():
    t = extract_template(JANET_Q, JANET_A)
    # 16, three, four and $2 are traced; 2 stays a changing number (no "half"/"twice" in the question)
    assert set(t.variables) == {Fraction(16), Fraction(3), Fraction(4), Fraction(2)}
    twins = instantiate(t, np.random.default_rng(0), 3)
    assert len({tw.question for tw in twins}) == 3
    for tw in twins:
        assert check_solution(tw.question, tw.answer) == []
        assert tw.final != 18
        # the rewritten question carries the drawn values, and the number words stay words
        assert "three" not in tw.question or tw.values["3"] == "3"
        q = dict(tw.values)
        expected = (Fraction(q["16"]) - Fraction(q["3"]) - Fraction(q["4"])) * Fraction(q["2"])
        assert tw.final == expected


def test_check_solution_catches_wrong_steps():
    assert check_solution("q", "a <<2+2=5>>5\n#### 5")
    assert check_solution("q", "a <<2+2=4>>5\n#### 4")  # the number shown after the step disagrees
    assert check_solution("q", "a <<2-3=-1>>-1\n#### -1")  # negative
    assert check_solution("q", "a <<7/2=3.5>>3.5\n#### 3.5")  # final answer must be an integer
    assert check_solution("q", "a <<2+2=4>>4\n#### 5")  # final answer is no step's result
    assert check_solution("q", JANET_A) == []


def test_unit_constants_and_implied_numbers_stay_fixed():
    qs = {
        q.text: q
        for q in find_quantities("He works 7 days, 12 hours, for 2019 years; a 4th time at 3 pm, 5 apples.")
    }
    assert qs["7"].fixed and qs["12"].fixed and qs["2019"].fixed and qs["3"].fixed
    assert "4" not in qs  # ordinal
    assert qs["5"].fixed is None


def test_hidden_conversion_is_held_not_changed():
    # 0.25 hours is 15 minutes / 60: 15 must not change, or the solution would silently be wrong
    q = "Tom runs for 30 minutes and walks for 15 minutes. He runs at 8 mph. How far does he run?"
    a = "He runs 30/60=<<30/60=0.5>>0.5 hours\nHe walks 15 minutes, that is 0.25 hours, and runs 8*0.5=<<8*0.5=4>>4 miles\n#### 4"
    try:
        t = extract_template(q, a)
    except TwinError:
        return  # refusing is also safe
    assert Fraction(15) not in t.variables


def test_half_makes_two_a_fixed_number():
    # "half" may be the 2 in 3/2, so the question's "two days" must not change either
    q = "John runs 3 hours on the first day and half as much on each of the other two days. How long does he run?"
    a = "The other days he runs 3/2=<<3/2=1.5>>1.5 hours each\nIn total 3+1.5+1.5=<<3+1.5+1.5=6>>6 hours\n#### 6"
    t = extract_template(q, a)
    assert Fraction(2) not in t.variables
    for tw in instantiate(t, np.random.default_rng(0), 2):
        assert "two days" in tw.question and "3 hours" not in tw.question
        assert check_solution(tw.question, tw.answer) == []


def test_equal_results_are_kept_equal():
    # 4+4+6 where each 4 is a different step's result: a twin must keep the two 4s equal or refuse
    q = "She buys 1 kilo of apples for $4, 2 kilos of bananas for $2 per kilo and 2 kilos of oranges for $3 per kilo. How much does she pay?"
    a = (
        "Apples cost $<<1*4=4>>4.\nBananas cost 2 * 2 = $<<2*2=4>>4.\nOranges cost 2 * 3 = $<<2*3=6>>6.\n"
        "She pays 4 + 4 + 6= $<<4+4+6=14>>14 in total.\n#### 14"
    )
    t = extract_template(q, a)
    for tw in instantiate(t, np.random.default_rng(1), 2, max_draws=2000):
        apples, bananas = tw.answer.split("\n")[0], tw.answer.split("\n")[1]
        assert apples.split("=")[-1].split(">>")[0] == bananas.split("=")[-1].split(">>")[0]
        assert check_solution(tw.question, tw.answer) == []


@settings(max_examples=60, deadline=None)
@given(st.integers(2, 100_000), st.booleans(), st.integers(0, 2**32 - 1))
def test_drawn_values_keep_kind_and_magnitude(v, percent, seed):
    value = Fraction(min(v, 100) if percent else v)
    new = draw_value(value, percent, np.random.default_rng(seed))
    assert new > 0 and new.denominator == 1
    assert value / 6 <= new <= value * 6 + 10
    if percent and value <= 100:
        assert new <= 100
    if value % 10 == 0 and not percent:
        assert new % 10 == 0  # roundness kept
    if percent and value % 5 == 0:
        assert new % 5 == 0


def test_most_of_the_test_set_gets_twins_that_re_execute(gsm8k):
    from harness.contamination.twins import make_twins

    ts = make_twins(gsm8k, seed=7, k=2)  # the runner tests use the same twins (cached in-process)
    coverage = ts.coverage()
    assert coverage["with_twins"] / len(gsm8k.rows) > 0.6, coverage["left_out_by_reason"]
    assert coverage["with_twins"] + coverage["left_out"] == 1319
    for j in range(2):
        for r, twin in zip(ts.rows, ts.versions[j], strict=True):
            assert check_solution(twin["question"], twin["answer"]) == [], (r, twin["answer"])
            assert twin["question"] != gsm8k.rows[r]["question"]
    assert all(a != b for a, b in zip(ts.versions[0], ts.versions[1], strict=True))
