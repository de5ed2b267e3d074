"""Benchmark items: one stable id and the text a leak could copy, built from Hub-schema rows.

Every source (Hub, bundled snapshot, a user's local copy in any supported format) is first
converted to the Hub schema of its benchmark; that row is kept verbatim (lm-eval consumes it), and
an `Item` view is derived from it for the scan and the reports.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import orjson

from harness.data.registry import get_spec


@dataclass(frozen=True, slots=True)
class Item:
    """One test item. `gold` is the choice index (multiple choice) or final answer string (GSM8K)."""

    item_id: str
    benchmark: str
    split: str
    row: int
    question: str
    choices: tuple[str, ...]
    answer: str
    gold: int | str
    subject: str | None = None

    def texts(self) -> dict[str, str]:
        """The fields whose text a training corpus could copy, by name."""
        out = {"question": self.question}
        for i, choice in enumerate(self.choices):
            out[f"choices[{i}]"] = choice
        if self.answer and self.answer not in self.choices:
            out["answer"] = self.answer
        return out


@dataclass(frozen=True)
class SourceInfo:
    """Where a benchmark copy came from, and how far it can be trusted."""

    kind: str  # "bundled" | "imported" | "local" | "hub"
    location: str
    files: dict[str, str] = field(default_factory=dict)  # file name -> sha256 of its bytes
    revision: str | None = None
    complete: bool = True
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "location": self.location,
            "files": dict(self.files),
            "revision": self.revision,
            "complete": self.complete,
            "note": self.note,
        }


@dataclass(frozen=True)
class BenchmarkSet:
    """The items of one benchmark split, with the Hub-schema rows they came from."""

    benchmark: str
    split: str
    rows: tuple[dict[str, Any], ...]
    items: tuple[Item, ...]
    source: SourceInfo

    def __len__(self) -> int:
        return len(self.items)

    @property
    def content_sha256(self) -> str:
        """Checksum of the canonical rows: equal copies from different sources agree on it."""
        return rows_sha256(self.rows)

    def by_id(self) -> dict[str, Item]:
        return {item.item_id: item for item in self.items}


def rows_sha256(rows: tuple[dict[str, Any], ...] | list[dict[str, Any]]) -> str:
    digest = hashlib.sha256()
    for row in rows:
        digest.update(orjson.dumps(row, option=orjson.OPT_SORT_KEYS))
        digest.update(b"\n")
    return digest.hexdigest()


def _gsm8k_final_answer(solution: str) -> str:
    """GSM8K's gold answer: the text after the last '#### ' with thousands separators removed."""
    return solution.rsplit("####", 1)[-1].strip().replace(",", "")


def _gsm8k_item(benchmark: str, split: str, index: int, row: dict[str, Any], local: int | str) -> Item:
    return Item(
        item_id=f"{benchmark}/{split}/{index}",
        benchmark=benchmark,
        split=split,
        row=index,
        question=row["question"],
        choices=(),
        answer=row["answer"],
        gold=_gsm8k_final_answer(row["answer"]),
    )


def _mmlu_item(benchmark: str, split: str, index: int, row: dict[str, Any], local: int | str) -> Item:
    subject = row["subject"]
    choices = tuple(row["choices"])
    return Item(
        item_id=f"{benchmark}/{subject}/{split}/{local}",
        benchmark=benchmark,
        split=split,
        row=index,
        question=row["question"],
        choices=choices,
        answer=choices[row["answer"]],
        gold=int(row["answer"]),
        subject=subject,
    )


def _arc_item(benchmark: str, split: str, index: int, row: dict[str, Any], local: int | str) -> Item:
    labels = list(row["choices"]["label"])
    texts = tuple(row["choices"]["text"])
    gold = labels.index(row["answerKey"])
    native = row.get("id") or str(index)
    return Item(
        item_id=f"{benchmark}/{split}/{native}",
        benchmark=benchmark,
        split=split,
        row=index,
        question=row["question"],
        choices=texts,
        answer=texts[gold],
        gold=gold,
    )


def _hellaswag_item(benchmark: str, split: str, index: int, row: dict[str, Any], local: int | str) -> Item:
    endings = tuple(row["endings"])
    gold = int(row["label"]) if str(row["label"]).strip() != "" else -1
    ind = row.get("ind")
    return Item(
        item_id=f"{benchmark}/{split}/{ind if ind is not None else index}",
        benchmark=benchmark,
        split=split,
        row=index,
        question=f"{row['activity_label']}: {row['ctx']}",
        choices=endings,
        answer=endings[gold] if gold >= 0 else "",
        gold=gold,
    )


# One builder per Hub schema family (a benchmark's spec names its family: `schema`).
_ITEM_BUILDERS = {"gsm8k": _gsm8k_item, "mmlu": _mmlu_item, "arc": _arc_item, "hellaswag": _hellaswag_item}


def item_from_row(
    benchmark: str, split: str, row_index: int, row: dict[str, Any], subject_row: int | str | None = None
) -> Item:
    """Derive the `Item` view of one validated Hub-schema row (see `schemas.validate_row`).

    Benchmarks whose ids are numbered within a field (MMLU: `ids_within = "subject"`) use the row's
    number within that field's value (`subject_row`), as the original per-subject files do.
    """
    build = _ITEM_BUILDERS[get_spec(benchmark).schema_]
    return build(benchmark, split, row_index, row, subject_row if subject_row is not None else row_index)


def build_items(
    benchmark: str, split: str, rows: list[dict[str, Any]] | tuple[dict[str, Any], ...]
) -> tuple[Item, ...]:
    """Items for all rows of one split; MMLU rows are numbered within their subject, in order
    (the spec's `ids_within`).

    A row carrying `redux_row` comes from the MMLU-Redux sample, whose official MMLU row is unknown:
    its id says so (`mmlu/<subject>/test/redux-<n>`) rather than pretending to be an official row.
    """
    items = []
    per_subject: dict[str, int] = {}
    within = get_spec(benchmark).ids_within
    for index, row in enumerate(rows):
        subject_row: int | str | None = None
        if within is not None:
            if row.get("redux_row") is not None:
                subject_row = f"redux-{row['redux_row']}"
            else:
                subject_row = per_subject.get(row[within], 0)
                per_subject[row[within]] = subject_row + 1
        items.append(item_from_row(benchmark, split, index, row, subject_row))
    return tuple(items)
