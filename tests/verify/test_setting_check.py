"""Setting comparison and truncation counts."""

from __future__ import annotations

from harness.verify.claims import Setting, parse_claims
from harness.verify.setting_check import compare_settings, count_truncation


def _claim(body: dict, name: str = "gsm8k"):
    return parse_claims({name: {"value": 90.0, **body}}).get(name)


def test_same_setting_has_no_differences_and_lists_assumed_defaults():
    claim = _claim({"n_shot": 8, "chain_of_thought": True})
    run = Setting("exact_match", "strict-match", 8, True, False)
    cmp = compare_settings("gsm8k", claim, 8, run, 256, generative=True)
    assert cmp.differences == []
    assert any(a.startswith("chat template not stated") for a in cmp.assumed)
    assert any(a.startswith("answer extraction not stated") for a in cmp.assumed)


def test_differences_are_listed_in_words():
    claim = _claim({"n_shot": 8, "chain_of_thought": True, "max_gen_toks": 512})
    run = Setting("exact_match", "strict-match", 5, False, True)
    cmp = compare_settings("gsm8k", claim, 8, run, 256, generative=True, forced=["endpoint forced it"])
    assert "shots: claim 8, run 5" in cmp.differences
    assert "chain of thought: claim yes, run no" in cmp.differences
    assert "chat template: claim no, run yes" in cmp.differences
    assert "generation cap (tokens): claim 512, run 256" in cmp.differences
    assert "endpoint forced it" in cmp.differences


def test_generation_cap_override_counts_only_when_it_departs_from_the_default():
    claim = _claim({})
    run = Setting("exact_match", "strict-match", 5)
    assert compare_settings("gsm8k", claim, 5, run, 256, generative=True).differences == []
    diffs = compare_settings("gsm8k", claim, 5, run, 64, generative=True).differences
    assert diffs and "capped generations at 64" in diffs[0]
    mc = _claim({"metric": "acc"}, "arc_easy")
    cmp = compare_settings("arc_easy", mc, 0, Setting("acc", "none", 0), None, generative=False)
    assert cmp.differences == [] and "max_gen_toks" not in cmp.claimed


def test_truncation_counts():
    records = [
        {"correct": 0.0, "gen_tokens": 256, "no_final_answer": True},
        {"correct": 0.0, "gen_tokens": 300, "no_final_answer": False},
        {"correct": 1.0, "gen_tokens": 256, "no_final_answer": False},
        {"correct": 0.0, "gen_tokens": 12, "no_final_answer": True},
        {"correct": 1.0, "gen_tokens": 40, "no_final_answer": False},
    ]
    t = count_truncation(records, 256, tokenizer_available=True)
    assert (t.truncated, t.truncated_wrong, t.no_final_answer, t.no_final_answer_wrong) == (3, 2, 2, 2)
    assert t.wrong_possibly_cut == 2
    t = count_truncation(records, 256, tokenizer_available=False)
    assert t.truncated is None and t.wrong_possibly_cut == 2 and "no tokenizer" in t.method
