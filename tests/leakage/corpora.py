"""Helpers for the leakage tests: corpora written in the formats the scan reads, and record comparison."""

from __future__ import annotations

import functools
import gzip
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import orjson

from harness.data import BenchmarkSet, load_benchmark
from harness.leakage.index import TestIndex, load_index

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "benchmarks"
ALL = ["gsm8k", "mmlu", "arc_challenge", "arc_easy", "hellaswag"]

# Filler prose that shares no 13-gram with any benchmark (test_detection checks it).
FILLER = (
    "Our town library reopened its reading room after a long renovation, and the staff thanked every "
    "volunteer who painted shelves, sorted donated books and kept the children's corner busy all summer. "
)


@functools.cache
def real_sets() -> dict[str, BenchmarkSet]:
    """The five real test sets (cached: property tests use this instead of fixtures, whose values
    hypothesis would print in full)."""
    return {name: load_benchmark(name) for name in ALL}


@functools.cache
def real_index() -> TestIndex:
    return load_index(ALL)


def page(*parts: str, filler: int = 6) -> str:
    """A web page: filler paragraphs around the given parts."""
    pad = FILLER * filler
    return pad + "\n\n" + "\n\n".join(parts) + "\n\n" + pad


def write_jsonl(path: Path, records: Iterable[Any], compress: str | None = None) -> Path:
    data = b"".join(orjson.dumps(r) + b"\n" for r in records)
    if compress == "gz":
        data = gzip.compress(data)
    elif compress == "zst":
        import zstandard

        data = zstandard.ZstdCompressor().compress(data)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def comparable(record: dict[str, Any]) -> str:
    """A scan record without what may differ between identical scans (engine, workers, times)."""
    return json.dumps({k: v for k, v in record.items() if k not in ("timing", "execution")}, sort_keys=True)


def dirty_ids(record: dict[str, Any]) -> set[str]:
    return {i["item_id"] for i in record["items"] if i["dirty"]}
