"""MMLU-Redux annotations: the messy labels normalise to one taxonomy, and the counts hold."""

from __future__ import annotations

from collections import Counter

import pytest

from harness.data.label_errors import ERROR_TYPES, mmlu_redux_annotations, normalise_error_type


@pytest.mark.parametrize(
    ("raw", "norm"),
    [
        ("OK", "ok"), ("Ok", "ok"), ("OK ", "ok"),
        ("Wrong Groundtruth", "wrong_groundtruth"), ("wrong_groundtruth ", "wrong_groundtruth"),
        ("No correct Answer", "no_correct_answer"), ("Multiple Correct Answers", "multiple_correct_answers"),
        ("bad_question_clarity", "bad_question_clarity"), ("Bad Options Clarity", "bad_options_clarity"),
        ("Expert", "expert"),
    ],
)  # fmt: skip
def test_normalise_error_type(raw, norm):
    assert normalise_error_type(raw) == norm


def test_unknown_label_is_an_error():
    with pytest.raises(ValueError, match="unknown MMLU-Redux error type"):
        normalise_error_type("mislabelled maybe")


def test_annotations_cover_5700_questions_with_the_published_error_rate():
    rows = mmlu_redux_annotations()
    assert len(rows) == 5700
    counts = Counter(r["error_type"] for r in rows)
    assert set(counts) <= set(ERROR_TYPES)
    # Gema et al. (2024) report 6.49% of MMLU questions with errors; the raw files give 370/5700.
    assert counts["ok"] == 5330
    assert round(100 * (5700 - counts["ok"]) / 5700, 2) == 6.49
    assert Counter(r["subject"] for r in rows).most_common()[-1][1] == 100
