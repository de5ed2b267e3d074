"""Twins of a benchmark's items, built at run time from a seed and never stored in the repository.

A twin set is what makes a held-out test private: anyone can regenerate it from the seed, nobody could
have trained on it before the run. ``make_twins`` dispatches to the GSM8K re-instantiation
(``gsm8k_twins``) or the multiple-choice reordering (``mc_twins``), counts every item left out by
reason, and returns the twins in the benchmark's Hub schema, so lm-eval scores them with exactly the
prompts it uses for the originals. ``item_text`` renders any version of an item as one text for the
likelihood tests.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from harness.contamination.gsm8k_twins import TwinError, extract_template, instantiate
from harness.contamination.mc_twins import mc_twins, options_of, render_mc, with_order
from harness.data.items import BenchmarkSet, build_items
from harness.data.registry import get_spec

EXAMPLES_PER_REASON = 3


@dataclass
class TwinSet:
    """The twins of some items of one benchmark: ``versions[j][i]`` is twin j of item ``rows[i]``."""

    benchmark: str
    seed: int
    k: int
    rows: list[int]  # row indices (into the BenchmarkSet) of the items that have twins
    versions: list[list[dict[str, Any]]]  # k lists of Hub-schema rows, aligned with `rows`
    details: list[dict[str, Any]]  # per item: what changed (values drawn, or the option order)
    considered: int = 0
    excluded: Counter[str] = field(default_factory=Counter)
    excluded_examples: dict[str, list[str]] = field(default_factory=dict)

    def version_set(self, bs: BenchmarkSet, j: int) -> BenchmarkSet:
        """Twin set ``j`` as a BenchmarkSet (same item ids and order as ``rows``), for lm-eval."""
        rows = tuple(self.versions[j])
        return BenchmarkSet(bs.benchmark, bs.split, rows, _items_like(bs, self.rows, rows), bs.source)

    def original_set(self, bs: BenchmarkSet) -> BenchmarkSet:
        rows = tuple(bs.rows[r] for r in self.rows)
        return BenchmarkSet(bs.benchmark, bs.split, rows, tuple(bs.items[r] for r in self.rows), bs.source)

    def coverage(self) -> dict[str, Any]:
        return {
            "considered": self.considered,
            "with_twins": len(self.rows),
            "left_out": self.considered - len(self.rows),
            "left_out_by_reason": dict(self.excluded.most_common()),
            "left_out_examples": {k: v for k, v in sorted(self.excluded_examples.items())},
        }


def _items_like(bs: BenchmarkSet, rows: list[int], twin_rows: tuple[dict[str, Any], ...]) -> tuple:
    """Items for twin rows that keep the originals' ids (item ids name the item, not its text)."""
    from dataclasses import replace

    built = build_items(bs.benchmark, bs.split, list(twin_rows))
    return tuple(replace(new, item_id=bs.items[r].item_id, row=r) for new, r in zip(built, rows, strict=True))


def item_rng(seed: int, benchmark: str, item_id: str) -> np.random.Generator:
    """The random stream of one item's twins: fixed by (seed, benchmark, item id), so an item's twins do
    not change with the sample it is drawn in."""
    digest = hashlib.sha256(f"{seed}:{benchmark}:{item_id}".encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


_CACHE: dict[tuple, TwinSet] = {}
_CACHE_SIZE = 8


def make_twins(bs: BenchmarkSet, *, seed: int, k: int, rows: list[int] | None = None) -> TwinSet:
    """``k`` twins of each selected item (all items when ``rows`` is None), and why others have none.

    Deterministic in (data, seed, k, rows), so results are kept in a small in-process cache (an audit
    or a test suite asks for the same twins several times); callers must not modify the result.
    """
    if k < 1:
        raise ValueError("k (twins per item) must be at least 1")
    key = (bs.benchmark, bs.split, bs.content_sha256, seed, k, None if rows is None else tuple(rows))
    if key not in _CACHE:
        if len(_CACHE) >= _CACHE_SIZE:
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[key] = _make_twins(bs, seed=seed, k=k, rows=rows)
    return _CACHE[key]


def _make_twins(bs: BenchmarkSet, *, seed: int, k: int, rows: list[int] | None) -> TwinSet:
    selected = list(range(len(bs.rows))) if rows is None else list(rows)
    out = TwinSet(bs.benchmark, seed, k, [], [[] for _ in range(k)], [], considered=len(selected))
    spec = get_spec(bs.benchmark)
    for r in selected:
        row, item = bs.rows[r], bs.items[r]
        rng = item_rng(seed, bs.benchmark, item.item_id)
        try:
            if spec.contamination.twins == "reinstantiate":
                template = extract_template(row["question"], row["answer"])
                twins = instantiate(template, rng, k)
                new_rows = [t.row() for t in twins]
                detail = {
                    "values": [t.values for t in twins],
                    "held": [str(v) for v in template.held],
                    "final": [str(t.final) for t in twins],
                }
            else:
                if item.gold is None or (isinstance(item.gold, int) and item.gold < 0):
                    raise TwinError("no answer key", "the item has no gold label")
                orders = mc_twins(bs.benchmark, row, rng, k)
                new_rows = [with_order(bs.benchmark, row, o) for o in orders]
                detail = {"orders": orders}
        except TwinError as exc:
            out.excluded[exc.reason] += 1
            examples = out.excluded_examples.setdefault(exc.reason, [])
            if len(examples) < EXAMPLES_PER_REASON:
                examples.append(item.item_id)
            continue
        out.rows.append(r)
        for j in range(k):
            out.versions[j].append(new_rows[j])
        out.details.append({"item_id": item.item_id, **detail})
    return out


def item_text(benchmark: str, row: dict[str, Any]) -> str:
    """One version of an item as a single text, the way test sets circulate (question and answer)."""
    if get_spec(benchmark).contamination.twins == "reinstantiate":
        return f"Question: {row['question']}\nAnswer: {row['answer']}"
    options, gold = options_of(benchmark, row)
    return render_mc(question_text(benchmark, row), options, gold)


def question_text(benchmark: str, row: dict[str, Any]) -> str:
    """The part of an item a completion test cuts in two: the spec's ``text_field`` (HellaSwag's context,
    led by its activity label as lm-eval shows it)."""
    spec = get_spec(benchmark)
    text = str(row[spec.text_field])
    if spec.schema_ == "hellaswag":
        return f"{row['activity_label']}: {text}"
    return text
