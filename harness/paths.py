"""Where harness keeps state on disk: one root, overridable for tests and shared machines."""

from __future__ import annotations

import os
from pathlib import Path


def harness_home() -> Path:
    """Root for imported data sets and cached models (``$HARNESS_HOME``, else ``~/.cache/harness``)."""
    return Path(os.environ.get("HARNESS_HOME") or Path.home() / ".cache" / "harness")


def data_store_dir() -> Path:
    """Where ``harness data import`` stores benchmark copies."""
    return harness_home() / "data"


def models_dir() -> Path:
    """Where models fetched from a package registry are unpacked."""
    return harness_home() / "models"
