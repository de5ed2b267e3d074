"""Benchmark data layer: one registry, one loader for every source, stable item ids."""

from harness.data.errors import DataError
from harness.data.items import BenchmarkSet, Item, SourceInfo
from harness.data.registry import BENCHMARKS, MMLU_SUBJECTS, BenchmarkSpec, get_spec
from harness.data.sources import load_benchmark

__all__ = [
    "BENCHMARKS",
    "MMLU_SUBJECTS",
    "BenchmarkSet",
    "BenchmarkSpec",
    "DataError",
    "Item",
    "SourceInfo",
    "get_spec",
    "load_benchmark",
]
