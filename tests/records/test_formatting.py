"""Numbers in words: one formatter for percentages, points and p-values everywhere."""

from __future__ import annotations

import math

from harness.records.formatting import format_p, percent, points


def test_percent_and_points():
    assert percent(0.4123) == "41.2%" and percent(0.4123, 2) == "41.23%"
    assert percent(None) == "n/a" and percent(None, missing="–") == "–"
    assert percent(1) == "100.0%"
    assert points(0.031) == "3.1" and points(0.0312, 2) == "3.12"


def test_p_values():
    assert format_p(0.0004) == "p < 0.001" and format_p(0.001) == "p = 0.001"
    assert format_p(0.0123) == "p = 0.012" and format_p(1.0) == "p = 1.000"
    # four decimals (the fingerprint's evidence) and values that cannot be shown
    assert format_p(0.00004, digits=4) == "p < 0.0001" and format_p(0.01234, digits=4) == "p = 0.0123"
    assert format_p(None) == format_p(math.nan) == "p = n/a"
