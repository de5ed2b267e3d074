"""The thin CLI: every capability is mounted, and starting it loads none of their heavy dependencies."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from harness.cli import app

HEAVY = ("torch", "transformers", "pandas", "matplotlib", "scipy", "pyarrow", "lm_eval", "ray", "datasets")


def test_every_capability_is_mounted() -> None:
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("audit", "verify", "fingerprint", "scan", "data"):
        assert command in result.output


def test_starting_the_cli_imports_no_heavy_dependency() -> None:
    """`harness --help` used to take 3 s because each package imported its whole stack eagerly."""
    code = (
        f"import json, sys; import harness.cli; print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []


def test_lazy_exports_resolve_and_unknown_names_fail() -> None:
    import harness.data
    from harness.data.sources import load_benchmark

    assert harness.data.load_benchmark is load_benchmark
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = harness.data.nope
