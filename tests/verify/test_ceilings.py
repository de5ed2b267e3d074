"""Label-error ceilings: hand-computed values, the bundled MMLU-Redux audit, bad input."""

from __future__ import annotations

import math

import pytest

from harness.data import MMLU_SUBJECTS
from harness.verify.ceilings import (
    MMLU_TEST_SIZES,
    gsm8k_ceiling,
    label_error_ceiling,
    mmlu_ceiling_from_annotations,
    no_ceiling_reason,
)


def test_gsm8k_ceiling_by_hand():
    c = gsm8k_ceiling()
    assert c.value == pytest.approx(1 - 0.5 * 110 / 1319)  # 0.958302
    assert c.details["standard_error"] == pytest.approx(math.sqrt(110 * 0.25) / 1319)  # 0.0039758
    assert c.value_low == pytest.approx(0.950510, abs=1e-6)
    assert c.value_high == pytest.approx(0.966094, abs=1e-6)
    assert "arXiv:2502.03461" in c.citation
    # relabeled questions counted as hard errors lower the ceiling one for one
    assert gsm8k_ceiling(relabeled=13).value == pytest.approx(c.value - 13 / 1319)


def _synthetic(hard: int, ambiguous: int) -> list[dict]:
    records = []
    for subject in MMLU_SUBJECTS:
        kinds = ["wrong_groundtruth"] * hard + ["multiple_correct_answers"] * ambiguous
        kinds += ["ok"] * (100 - len(kinds))
        records += [{"subject": subject, "error_type": k} for k in kinds]
    return records


def test_mmlu_ceiling_by_hand():
    # every subject: 2 wrong keys (credit 0), 4 with several answers (credit 0.5), 94 fine
    c = mmlu_ceiling_from_annotations(_synthetic(2, 4))
    assert c.value == pytest.approx(1 - 0.02 - 0.5 * 0.04)  # 0.96
    # per-subject variance of credits: (94 * 0.04^2 + 4 * 0.46^2 + 2 * 0.96^2) / 99 = 2.84 / 99
    s2 = 2.84 / 99
    sampling = sum((n / 14042) ** 2 * (1 - 100 / n) * s2 / 100 for n in MMLU_TEST_SIZES.values())
    luck = 14042 * 0.04 * 0.25 / 14042**2
    assert c.details["standard_error"] == pytest.approx(math.sqrt(sampling + luck))
    assert c.details["share_hard"] == pytest.approx(0.02)
    assert c.details["share_ambiguous"] == pytest.approx(0.04)


def test_mmlu_ceiling_from_the_bundled_mmlu_redux_audit():
    c = label_error_ceiling("mmlu")
    assert c.details["annotated_questions"] == 5700 and c.details["subjects"] == 57
    assert sum(c.details["error_type_counts"].values()) == 5700
    # MMLU-Redux reports 6.49% of its questions with some error; its files give the same share
    assert c.details["share_any_error_unweighted"] == pytest.approx(0.0649, abs=0.002)
    assert 0.90 < c.value_low < c.value < c.value_high < 0.99
    assert "arXiv:2406.04127" in c.citation


def test_benchmarks_without_a_ceiling_say_why():
    for name in ("arc_challenge", "arc_easy", "hellaswag"):
        assert label_error_ceiling(name) is None
        assert no_ceiling_reason(name)
    assert "GoldenSwag" in no_ceiling_reason("hellaswag")


def test_bad_input():
    with pytest.raises(ValueError, match="unknown benchmark"):
        label_error_ceiling("humaneval")
    with pytest.raises(ValueError, match="ambiguous_credit"):
        label_error_ceiling("gsm8k", ambiguous_credit=1.5)
    records = _synthetic(0, 0)
    records[0] = {"subject": "astrology", "error_type": "ok"}
    with pytest.raises(ValueError, match="record 0: unknown MMLU subject 'astrology'"):
        mmlu_ceiling_from_annotations(records)
    records = _synthetic(0, 0)
    records[5]["error_type"] = "typo"
    with pytest.raises(ValueError, match="record 5: unknown error_type 'typo'"):
        mmlu_ceiling_from_annotations(records)
    with pytest.raises(ValueError, match="no annotations for MMLU subjects"):
        mmlu_ceiling_from_annotations(_synthetic(0, 0)[100:])
