"""Published label-error annotations (MMLU-Redux) as data: the basis of MMLU's plausibility ceiling."""

from __future__ import annotations

import re
from typing import Any

from harness.data import snapshot

# MMLU-Redux's error taxonomy (Gema et al. 2024, "Are We Done with MMLU?"), as its files spell it
# in a dozen variants ("Wrong Groundtruth", "wrong_groundtruth ", ...).
ERROR_TYPES = (
    "ok",
    "wrong_groundtruth",
    "no_correct_answer",
    "multiple_correct_answers",
    "bad_question_clarity",
    "bad_options_clarity",
    "expert",
)


def normalise_error_type(label: str) -> str:
    """Map a raw MMLU-Redux error label to the taxonomy above; unknown labels raise ValueError."""
    key = re.sub(r"[\s_]+", "_", label.strip().lower())
    if key in ERROR_TYPES:
        return key
    raise ValueError(f"unknown MMLU-Redux error type {label!r}")


def mmlu_redux_annotations() -> list[dict[str, Any]]:
    """One record per MMLU-Redux question: subject, redux_row, question, error_type, correct_answer."""
    rows, _ = snapshot.read_rows(snapshot.BUNDLED_DIR, "mmlu_redux", "annotations")
    return rows
