"""Lazy package exports, so that `harness --help` does not import torch, pandas, scipy and matplotlib.

Every capability package re-exports its public functions. Importing them eagerly made every CLI start
(even `--help`) pay for the heaviest dependency of any capability, about 3 s. PEP 562's module
``__getattr__`` imports an export's module on first access instead; ``from harness.data import
load_benchmark`` works exactly as before.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


def lazy_exports(package: str, exports: dict[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``package``: ``exports`` maps a public name to its submodule."""

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(f"{package}.{module}"), name)

    return __getattr__
