from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.contamination.arithmetic import ExpressionError, parse_expression, parse_number


def test_exact_values_and_literal_positions():
    e = parse_expression("80000*1.5")
    assert e.value == 120000
    assert [lit.text for lit in e.literals] == ["80000", "1.5"]
    assert e.literals[1].value == Fraction(3, 2)
    assert parse_expression("0.1+0.2").value == Fraction(3, 10)  # exact, not 0.30000000000000004
    assert parse_expression("16-3-4").value == 9  # left-associative
    assert parse_expression("2*(3+4)/7").value == 2
    assert parse_expression("-3+5").value == 2
    assert parse_expression(".5*10").value == 5
    assert parse_number("80,000") == 80000


def test_render_and_evaluate_with_new_literals():
    e = parse_expression("20 * 20/100")
    assert e.render(["30", "40", "100"]) == "30 * 40/100"
    assert e.evaluate([Fraction(30), Fraction(40), Fraction(100)]) == 12


@pytest.mark.parametrize("bad", ["+8", "2**3", "3x4", "4/0", "(1+2", "", "1,00+2", "abc"])
def test_not_plain_arithmetic_is_refused(bad):
    with pytest.raises(ExpressionError):
        parse_expression(bad)


@given(
    st.lists(st.integers(0, 10_000), min_size=1, max_size=6),
    st.lists(st.sampled_from("+-*"), min_size=5, max_size=5),
)
def test_matches_python_on_integer_expressions(numbers, ops):
    text = str(numbers[0])
    for n, op in zip(numbers[1:], ops, strict=False):
        text += f"{op}{n}"
    assert parse_expression(text).value == eval(text)  # integer-only: Python's arithmetic is exact
