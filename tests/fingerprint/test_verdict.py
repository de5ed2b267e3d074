"""``decide``: a pure function of evidence rows; the weighted-Bonferroni rule, monotone by construction."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.fingerprint.evalues import threshold
from harness.fingerprint.evidence import Evidence
from harness.fingerprint.family import ApiCapabilities, plan_family
from harness.fingerprint.verdict import DIFFERENT, RELAY, decide, family_p_value, numerics_relation

ALPHA = 0.01


def row(name, kind, weight, e, complete=True, **details):
    return Evidence(
        name, kind, "m", "s", weight=weight, e_value=e, e_final=e, n=8, complete=complete, details=details
    )


def full_family(e=None, complete=True):
    w = plan_family(ApiCapabilities("completions", True, True, True, True), reference_generates=True)
    kinds = {"tokenizer_counts": "tokenizer", "tokenizer_cuts": "tokenizer", "echo_text": "relay",
             "output_filter": "relay", "greedy_tokens": "weights", "token_logprobs": "weights"}  # fmt: skip
    e = e or {}
    return [row(n, kinds[n], wt, e.get(n, 1.0), complete) for n, wt in w.items()]


def test_family_weights_sum_to_one_and_follow_the_api():
    full = plan_family(ApiCapabilities("completions", True, True, True, True), reference_generates=True)
    assert sum(full.values()) == pytest.approx(1.0) and len(full) == 6
    chat_no_lp = plan_family(ApiCapabilities("chat", False, False, False, False), reference_generates=True)
    assert set(chat_no_lp) == {"tokenizer_cuts", "output_filter", "greedy_tokens"}
    assert sum(chat_no_lp.values()) == pytest.approx(1.0)
    tok_only = plan_family(ApiCapabilities("completions", True, True, True, True), reference_generates=False)
    assert "greedy_tokens" not in tok_only and "token_logprobs" not in tok_only


def test_nothing_against_and_everything_complete_is_a_match():
    v = decide(full_family(), alpha=ALPHA)
    assert v.verdict == "match" and v.p_family == 1.0


def test_an_incomplete_test_leaves_it_inconclusive():
    rows = full_family()
    rows[-1].complete = False
    v = decide(rows, alpha=ALPHA)
    assert v.verdict == "inconclusive" and rows[-1].name in v.headline


def test_crossing_the_weighted_threshold_is_a_mismatch_and_names_the_relation():
    rows = full_family()
    g = next(r for r in rows if r.name == "greedy_tokens")
    g.e_value = threshold(g.weight, ALPHA)
    v = decide(rows, alpha=ALPHA)
    assert v.verdict == "mismatch" and v.weights_relation == DIFFERENT and v.rejecting == ["greedy_tokens"]
    assert v.p_family == pytest.approx(ALPHA)
    rows = full_family({"output_filter": 1e9})
    v = decide(rows, alpha=ALPHA)
    assert v.verdict == "mismatch" and v.weights_relation == RELAY


def test_just_below_the_threshold_does_not_reject():
    rows = full_family()
    g = next(r for r in rows if r.name == "greedy_tokens")
    g.e_value = threshold(g.weight, ALPHA) * 0.999
    assert decide(rows, alpha=ALPHA).verdict == "match"


def test_weights_over_one_are_refused():
    with pytest.raises(ValueError, match="sum to"):
        decide([row("a", "weights", 0.7, 1), row("b", "weights", 0.4, 1)], alpha=ALPHA)
    with pytest.raises(ValueError, match="twice"):
        decide([row("a", "weights", 0.3, 1), row("a", "weights", 0.3, 1)], alpha=ALPHA)


def test_v1_counterexample_more_evidence_never_weakens_the_verdict():
    """v1: one tokenizer test at p = 0.008 gave mismatch; two at 0.008 and 0.009 gave inconclusive
    (Holm over the tests that had labelled themselves). Here a test's threshold is fixed by the family
    before any evidence: adding a second test's evidence cannot undo the first's rejection."""
    one = full_family({"tokenizer_counts": 1 / (0.008 * 0.1 / 0.1)})  # strong evidence on one test
    counts = next(r for r in one if r.name == "tokenizer_counts")
    counts.e_value = threshold(counts.weight, ALPHA) * 1.01
    assert decide(one, alpha=ALPHA).verdict == "mismatch"
    two = [Evidence(**{**r.__dict__}) for r in one]
    cuts = next(r for r in two if r.name == "tokenizer_cuts")
    cuts.e_value = threshold(cuts.weight, ALPHA) * 0.9  # strong, but not enough alone
    assert decide(two, alpha=ALPHA).verdict == "mismatch"
    assert decide(two, alpha=ALPHA).p_family <= decide(one, alpha=ALPHA).p_family


EVS = st.floats(min_value=0.0, max_value=1e6, allow_nan=False)


@settings(max_examples=200, deadline=None)
@given(st.lists(EVS, min_size=6, max_size=6), st.integers(0, 5), st.floats(min_value=1.0, max_value=1e6))
def test_decide_is_monotone_in_every_e_value(es, which, factor):
    names = [r.name for r in full_family()]
    rows = full_family(dict(zip(names, es, strict=True)))
    before = decide(rows, alpha=ALPHA)
    rows[which].e_value *= factor
    after = decide(rows, alpha=ALPHA)
    if before.verdict == "mismatch":
        assert after.verdict == "mismatch"
    assert after.p_family <= before.p_family + 1e-15
    assert family_p_value(rows) == after.p_family


def test_informational_rows_never_decide():
    rows = [
        *full_family(),
        Evidence("identity_answer", "info", "m", "s", weight=0.0, e_value=1000000000000.0),
    ]
    assert decide(rows, alpha=ALPHA).verdict == "match"


def test_numerics_relation_reports_the_narrowest_tier_not_rejected():
    rows = full_family()
    for r in rows:
        if r.kind == "weights":
            r.details["tiers"] = {
                "16bit": {"e_value": 1e9},
                "8bit": {"e_value": 1.0},
                "4bit": {"e_value": 1.0},
            }
    assert numerics_relation(rows, alpha=ALPHA, tolerance="4bit") == "same weights within 8bit numerics"
    for r in rows:
        if r.kind == "weights":
            r.details["tiers"]["16bit"]["e_value"] = 1.0
    assert numerics_relation(rows, alpha=ALPHA, tolerance="4bit") == "same weights within 16bit numerics"


def test_beyond_the_match_tier_but_within_tolerance_is_inconclusive_not_an_accusation():
    rows = full_family()
    for r in rows:
        if r.kind == "weights":
            r.details["tiers"] = {
                "16bit": {"e_value": 1e9},
                "8bit": {"e_value": 1e9},
                "4bit": {"e_value": 1.0},
            }
    v = decide(rows, alpha=ALPHA, match_tier="8bit")
    assert v.verdict == "inconclusive" and "8bit" in v.weights_relation
    assert decide(rows, alpha=ALPHA, match_tier="4bit").verdict == "match"


def test_an_estimate_outside_the_match_tier_prevents_a_match_without_a_rejection():
    rows = full_family()
    for r in rows:
        if r.kind == "weights":
            r.details["tiers"] = {
                "8bit": {"e_value": 100.0, "mean_y": 2.1},
                "4bit": {"e_value": 1.0, "mean_y": 0.1},
            }
    v = decide(rows, alpha=ALPHA, match_tier="8bit")
    assert v.verdict == "inconclusive"
    for r in rows:
        if r.kind == "weights":
            r.details["tiers"]["8bit"]["mean_y"] = 0.9
    assert decide(rows, alpha=ALPHA, match_tier="8bit").verdict == "match"
