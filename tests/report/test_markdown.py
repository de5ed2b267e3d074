"""One Markdown renderer per record kind: each renders a command's record on its own, and the audit's
report.md is made of exactly those renderings (so a section reads the same in both)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.audit import load_audit, run_audit
from harness.report import (
    render_contamination_markdown,
    render_fingerprint_markdown,
    render_markdown,
    render_scan_markdown,
    render_verify_markdown,
)


def test_each_record_kind_renders_on_its_own(recorded: Any) -> None:
    verify = render_verify_markdown({"weights": recorded.verify_record()})
    assert verify.startswith("## Claimed vs measured") and "| weights | gsm8k |" in verify
    assert "<script>" not in verify and "&lt;script&gt;" in verify  # the claim source is escaped
    scan = render_scan_markdown(recorded.scan_record())
    assert scan.startswith("## Contamination") and "### `gsm8k/test/3`" in scan
    fingerprint = render_fingerprint_markdown(recorded.fingerprint_record("mismatch"))
    assert "Verdict: **mismatch** (confidence 0.99)." in fingerprint
    contamination = render_contamination_markdown(
        {"status": "clean", "benchmarks": {"hellaswag": {"verdict": "no evidence"}}}
    )
    assert (
        contamination.startswith("## Contamination (model side)")
        and "| hellaswag | no evidence |" in contamination
    )


def test_a_record_with_nothing_to_show_renders_nothing() -> None:
    assert render_verify_markdown({}) == ""
    assert render_scan_markdown({"status": "clean"}) == ""
    assert render_contamination_markdown({"status": "clean"}) == ""


def test_the_audit_report_is_made_of_the_per_record_renderings(
    audit_dir: Path, make_recorder: Any, tmp_path: Path
) -> None:
    record, _ = run_audit(
        load_audit(audit_dir / "full.toml"),
        out_root=tmp_path / "r",
        runners=make_recorder(verdict="mismatch").runners(),
        progress=False,
        render=False,
    )
    md = render_markdown(record)
    s = record["sections"]
    parts = [
        render_verify_markdown({"weights": s["verify_weights"], "endpoint": s["verify_endpoint"]}),
        render_scan_markdown(s["scan"]),
        render_fingerprint_markdown(s["fingerprint"]),
    ]
    positions = [md.index(part) for part in parts]  # each verbatim, in the report's order
    assert positions == sorted(positions)
