"""Small benchmark copies in the exact Hugging Face Hub schemas, for tests."""

from __future__ import annotations

import json
from pathlib import Path


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


# Rows exactly as the Hub's datasets return them (field names and types).
ARC_HUB_ROWS = [
    {
        "id": "Mercury_7175875",
        "question": "An astronomer observes that a planet rotates faster after a meteorite impact. Which is the "
        "most likely effect of this increase in rotation?",
        "choices": {
            "text": [
                "Planetary density will decrease.",
                "Planetary years will become longer.",
                "Planetary days will become shorter.",
                "Planetary gravity will become stronger.",
            ],
            "label": ["A", "B", "C", "D"],
        },
        "answerKey": "C",
    },
    {
        "id": "NYSEDREGENTS_2015_4_22",
        "question": "Which object is the best conductor of electricity?",
        "choices": {
            "text": ["a wax crayon", "a plastic spoon", "a rubber eraser", "an iron nail"],
            "label": ["1", "2", "3", "4"],
        },
        "answerKey": "4",
    },
]

HELLASWAG_HUB_ROWS = [
    {
        "ind": 24,
        "activity_label": "Roof shingle removal",
        "ctx_a": "A man is sitting on a roof.",
        "ctx_b": "he",
        "ctx": "A man is sitting on a roof. he",
        "endings": [
            "is using wrap to wrap a pair of skis.",
            "is ripping level tiles off.",
            "is holding a rubik's cube.",
            "starts pulling up roofing on a roof.",
        ],
        "source_id": "activitynet~v_-JhWjGDPHMY",
        "split": "val",
        "split_type": "indomain",
        "label": "3",
    },
]

MMLU_HUB_ROWS = [
    {
        "question": "Find the degree for the given field extension Q(sqrt(2), sqrt(3), sqrt(18)) over Q.",
        "subject": "abstract_algebra",
        "choices": ["0", "4", "2", "6"],
        "answer": 1,
    },
    {
        "question": "Let p = (1, 2, 5, 4)(2, 3) in S_5 . Find the index of <p> in S_5.",
        "subject": "abstract_algebra",
        "choices": ["8", "2", "24", "120"],
        "answer": 2,
    },
    {
        "question": "What is the embryological origin of the hyoid bone?",
        "subject": "anatomy",
        "choices": ["The first pharyngeal arch", "The first and second pharyngeal arches", "The second pharyngeal arch", "The second and third pharyngeal arches"],
        "answer": 3,
    },
]  # fmt: skip
