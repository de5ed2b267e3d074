"""Fixtures for the data layer: real shared sets, and small copies in the exact Hub schemas."""

from __future__ import annotations

from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "benchmarks"


@pytest.fixture(scope="session")
def shared_benchmarks() -> Path:
    if not SHARED.exists():
        pytest.fail(f"the shared benchmark data is missing at {SHARED}")
    return SHARED


@pytest.fixture(autouse=True)
def isolated_store(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets an empty import store, so nothing leaks between tests or from the user's home."""
    home = tmp_path_factory.mktemp("harness_home")
    monkeypatch.setenv("HARNESS_HOME", str(home))
    monkeypatch.delenv("HARNESS_DATA_SOURCE", raising=False)
    return home
