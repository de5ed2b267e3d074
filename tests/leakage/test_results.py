"""Merging: overlap through the best variant, headlines; the summary renders untrusted excerpts inertly."""

from __future__ import annotations

import numpy as np

from harness.leakage.report import render_summary
from harness.leakage.results import headline, item_overlap


def units_of(index, seg: int) -> np.ndarray:
    return np.flatnonzero(index.unit_segment == seg)


def test_overlap_counts_a_solution_through_its_best_spelling(index) -> None:
    item = index.items[0]  # gsm8k/test/0: question, answer, answer (plain)
    q, a, plain = item.segments
    nq, na = units_of(index, q).size, units_of(index, a).size
    ov = item_overlap(index, units_of(index, a))
    assert ov[0] == na / (nq + na)
    ov = item_overlap(index, units_of(index, plain))  # the plain solution alone covers the answer fully
    assert ov[0] == na / (nq + na)
    ov = item_overlap(index, np.concatenate((units_of(index, q), units_of(index, plain))))
    assert ov[0] == 1.0 and ov[1] == 0.0
    half = units_of(index, q)[: nq // 2]
    assert item_overlap(index, half)[0] == (nq // 2) / (nq + na)


def test_headlines() -> None:
    acc = {"bytes_read": 1_234_567_890, "records_read": 1000, "records_skipped": 0, "file_faults": []}
    clean = {"gsm8k": {"items": 1319, "dirty": 0}}
    assert (
        headline(clean, acc)
        == "No test item of 1 benchmark(s) (1,319 items) was found in 1.2 GB of training data (1,000 records)."
    )
    dirty = {"gsm8k": {"items": 1319, "dirty": 3}, "mmlu": {"items": 5700, "dirty": 1}}
    acc2 = {**acc, "records_skipped": 2, "file_faults": [{}]}
    assert headline(dirty, acc2) == (
        "4 of 7,019 test items were found in 1.2 GB of training data (1,000 records): gsm8k 3, mmlu 1; "
        "2 records could not be read (see accounting); 1 file(s) were damaged."
    )


def test_summary_renders_untrusted_excerpts_inertly() -> None:
    evil = "<script>alert(1)</script> | [link](javascript:x) `code`\n# heading"
    record = {
        "status": "flagged",
        "headline": "1 of 1 test items were found.",
        "benchmarks": {
            "gsm8k": {"split": "test", "items": 1, "dirty": 1, "matched": 1, "undetectable": 0, "clean": 0}
        },
        "items": [
            {
                "item_id": "gsm8k/test/0",
                "dirty": True,
                "overlap": 1.0,
                "longest_match": 20,
                "similarity": 100.0,
                "records": 1,
                "where": {"file": "a|b.jsonl", "record": 0, "line": 1, "field": "text", "offset": 0},
                "matched_field": "question",
                "excerpt": evil,
            },
        ],
        "accounting": {
            "files": 1,
            "bytes_read": 1,
            "bytes_decoded": 1,
            "records_read": 1,
            "records_skipped": 0,
            "blank_lines": 0,
            "skipped_reasons": {},
            "file_faults": [],
        },
        "config": {"dirty_rule": "rule", "ngram": 13, "floor": 8, "fields": None},
    }
    md = render_summary(record)
    row = next(line for line in md.splitlines() if line.startswith("| gsm8k/test/0"))
    assert "<script>" not in md and "&lt;script&gt;" in row and "\\|" in row and "\\[link\\]" in row
    assert row.count(" | ") == 7  # the table keeps its columns
    assert "\n# heading" not in md
