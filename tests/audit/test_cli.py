"""`harness audit`: the command only parses and calls; `--json` puts the record on stdout and nothing
else (progress, section output and the summary go to stderr); the exit code is the shared table's."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from harness.audit import runner
from harness.cli import app


@pytest.fixture
def recorded_runners(monkeypatch: pytest.MonkeyPatch, make_recorder: Any) -> Any:
    """The CLI's real section entry points replaced by recorded ones; the scan also prints to stdout,
    as libraries do, which --json must keep off stdout."""
    rec = make_recorder(verdict="mismatch")

    def noisy_scan(paths: list[str], **kw: Any) -> dict:
        print("scan progress on stdout")
        return rec.scan(paths, **kw)

    for name, fn in (
        ("scan", noisy_scan),
        ("verify", rec.verify),
        ("fingerprint", rec.fingerprint),
        ("serve", rec.serve),
    ):
        monkeypatch.setitem(runner._REAL, name, lambda fn=fn: fn)
    return rec


def test_json_prints_the_record_alone(recorded_runners: Any, audit_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "reports"
    result = CliRunner().invoke(
        app, ["audit", str(audit_dir / "full.toml"), "--out", str(out), "--no-progress", "--json"]
    )
    assert result.exit_code == 1, result.output  # flagged: the shared exit-code table
    record = json.loads(result.stdout)  # nothing but the record on stdout
    (run_dir,) = (out / "unit").iterdir()
    assert record == json.loads((run_dir / "audit.json").read_text(encoding="utf-8"))
    assert record["status"] == "flagged" and record["exit_code"] == 1
    assert "scan progress on stdout" in result.stderr and "Audit unit" in result.stderr
    assert (run_dir / "report.md").is_file()  # the report is still written


def test_without_json_the_summary_goes_to_stderr(
    recorded_runners: Any, audit_dir: Path, tmp_path: Path
) -> None:
    result = CliRunner().invoke(
        app, ["audit", str(audit_dir / "full.toml"), "--out", str(tmp_path / "r"), "--no-progress"]
    )
    assert result.exit_code == 1
    assert "FLAGGED" in result.stderr and "report.html" in result.stderr


def test_an_invalid_audit_file_exits_2_with_nothing_on_stdout(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[scan]\npaths = 3\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["audit", str(bad), "--json"])
    assert result.exit_code == 2 and result.stdout == ""
    assert "invalid audit file" in result.stderr
