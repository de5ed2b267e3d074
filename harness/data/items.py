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


def item_from_row(
    benchmark: str, split: str, row_index: int, row: dict[str, Any], subject_row: int | str | None = None
) -> Item:
    """Derive the `Item` view of one validated Hub-schema row (see `schemas.validate_row`).

    MMLU ids use the row within the subject (`subject_row`), as the original per-subject files do.
    """
    if benchmark == "gsm8k":
        return Item(
            item_id=f"gsm8k/{split}/{row_index}",
            benchmark=benchmark,
            split=split,
            row=row_index,
            question=row["question"],
            choices=(),
            answer=row["answer"],
            gold=_gsm8k_final_answer(row["answer"]),
        )
    if benchmark == "mmlu":
        subject = row["subject"]
        local = subject_row if subject_row is not None else row_index
        choices = tuple(row["choices"])
        return Item(
            item_id=f"mmlu/{subject}/{split}/{local}",
            benchmark=benchmark,
            split=split,
            row=row_index,
            question=row["question"],
            choices=choices,
            answer=choices[row["answer"]],
            gold=int(row["answer"]),
            subject=subject,
        )
    if benchmark in ("arc_challenge", "arc_easy"):
        labels = list(row["choices"]["label"])
        texts = tuple(row["choices"]["text"])
        gold = labels.index(row["answerKey"])
        native = row.get("id") or str(row_index)
        return Item(
            item_id=f"{benchmark}/{split}/{native}",
            benchmark=benchmark,
            split=split,
            row=row_index,
            question=row["question"],
            choices=texts,
            answer=texts[gold],
            gold=gold,
        )
    if benchmark == "hellaswag":
        endings = tuple(row["endings"])
        gold = int(row["label"]) if str(row["label"]).strip() != "" else -1
        ind = row.get("ind")
        return Item(
            item_id=f"hellaswag/{split}/{ind if ind is not None else row_index}",
            benchmark=benchmark,
            split=split,
            row=row_index,
            question=f"{row['activity_label']}: {row['ctx']}",
            choices=endings,
            answer=endings[gold] if gold >= 0 else "",
            gold=gold,
        )
    raise KeyError(f"unknown benchmark '{benchmark}'")


def build_items(
    benchmark: str, split: str, rows: list[dict[str, Any]] | tuple[dict[str, Any], ...]
) -> tuple[Item, ...]:
    """Items for all rows of one split; MMLU rows are numbered within their subject, in order.

    A row carrying `redux_row` comes from the MMLU-Redux sample, whose official MMLU row is unknown:
    its id says so (`mmlu/<subject>/test/redux-<n>`) rather than pretending to be an official row.
    """
    items = []
    per_subject: dict[str, int] = {}
    for index, row in enumerate(rows):
        subject_row: int | str | None = None
        if benchmark == "mmlu":
            if row.get("redux_row") is not None:
                subject_row = f"redux-{row['redux_row']}"
            else:
                subject_row = per_subject.get(row["subject"], 0)
                per_subject[row["subject"]] = subject_row + 1
        items.append(item_from_row(benchmark, split, index, row, subject_row))
    return tuple(items)
