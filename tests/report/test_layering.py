"""The report renders records and never runs a check: no module of harness/report imports the audit
runner or a capability's runner (the loop audit_runner -> render -> views -> audit_runner is gone)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import harness

REPORT = Path(harness.__file__).parent / "report"
FORBIDDEN = (
    "harness.audit",
    "harness.verify.runner",
    "harness.leakage.scan",
    "harness.fingerprint.runner",
    "harness.contamination.runner",
)


def _imports(path: Path) -> list[str]:
    """Every module a file imports, at any depth (function-level imports included)."""
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
            names += [f"{node.module}.{alias.name}" for alias in node.names]
    return names


def test_no_report_module_imports_a_runner() -> None:
    files = sorted(REPORT.glob("*.py"))
    assert {f.name for f in files} >= {"render.py", "views.py", "plots.py"}
    bad = [
        f"{f.name}: {name}"
        for f in files
        for name in _imports(f)
        if any(name == m or name.startswith(m + ".") for m in FORBIDDEN)
    ]
    assert bad == []


def test_the_check_sees_a_forbidden_import(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text("def f():\n    from harness.audit.runner import run_audit\n", encoding="utf-8")
    assert "harness.audit.runner" in _imports(probe)


def test_importing_the_report_loads_no_audit_module() -> None:
    code = (
        "import sys, harness.report.views, harness.report.render\n"
        "print(sorted(m for m in sys.modules if m.startswith(('harness.audit', 'harness.verify.runner'))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPORT.parent.parent
    )
    assert out.stdout.strip() == "[]"
