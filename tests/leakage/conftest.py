"""Session fixtures for the leakage tests: the real test sets and the five-benchmark index, built once."""

from __future__ import annotations

import pytest

from harness.data import BenchmarkSet
from harness.leakage.index import TestIndex
from tests.leakage.corpora import real_index, real_sets


@pytest.fixture(scope="session")
def sets() -> dict[str, BenchmarkSet]:
    return real_sets()


@pytest.fixture(scope="session")
def index() -> TestIndex:
    """The index of all five test sets, as `harness scan` builds it by default."""
    return real_index()
