"""Zoo fixtures: a private zoo directory per test session, and a tiny Llama with SmolLM2's tokenizer.

The zoo's builders cache under ``$HARNESS_ZOO_DIR``; pointing it at a session temp directory makes the
tests exercise the real build path every time (the SmolLM2 float32 reference and llama.cpp's converter
stay in their usual caches, fetched once per machine).
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(scope="session", autouse=True)
def zoo_root(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("zoo")
    old = os.environ.get("HARNESS_ZOO_DIR")
    os.environ["HARNESS_ZOO_DIR"] = str(root)
    yield root
    if old is None:
        os.environ.pop("HARNESS_ZOO_DIR", None)
    else:
        os.environ["HARNESS_ZOO_DIR"] = old


@pytest.fixture(scope="session")
def tiny_same_tokenizer(smollm2_dir: Path, zoo_root: Path):
    """A 2-layer, 64-wide random Llama with SmolLM2's tokenizer and chat template (seconds to build)."""
    from harness.testing.substitutes import random_init_same_tokenizer

    return random_init_same_tokenizer(smollm2_dir, hidden=64, layers=2, seed=0)
