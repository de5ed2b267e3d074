"""Report rendering from audit.json alone: escaping of untrusted text, plots, determinism, a golden file."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from harness.audit import load_audit, run_audit
from harness.report import render_html, render_markdown
from harness.report.render import md_escape, render_reports

GOLDEN = Path(__file__).parent / "golden" / "report.md"


@pytest.fixture
def audit_record(audit_dir: Path, make_recorder: Any, tmp_path: Path) -> tuple[dict, Path]:
    return run_audit(
        load_audit(audit_dir / "full.toml"),
        out_root=tmp_path / "reports",
        runners=make_recorder(verdict="mismatch").runners(),
        progress=False,
    )


def _stable(record: dict) -> dict:
    """The record with its run-specific timing fixed, so the rendering can be compared to a golden file."""
    out = json.loads(json.dumps(record))
    out["timing"] = {"run_id": "RUN", "started_at": "2026-01-01T00:00:00+00:00", "seconds": 1.0}
    return out


def test_html_escapes_untrusted_text(audit_record: tuple[dict, Path], recorded: Any) -> None:
    html = render_html(audit_record[0])
    assert recorded.INJECTED not in html
    assert "<script>document.title" not in html
    assert "onerror=" not in html.replace("onerror=&#34;", "").replace("onerror=&quot;", "")
    assert "&lt;script&gt;document.title=&#39;PWNED&#39;&lt;/script&gt;" in html
    # the only <script>-free, network-free page: no external resources at view time
    assert not re.search(r"""(src|href)=["']https?://""", html)
    assert "Content-Security-Policy" in html


def test_html_shows_verdict_plots_claims_contamination_and_fingerprint(
    audit_record: tuple[dict, Path],
) -> None:
    record, _ = audit_record
    html = render_html(record)
    assert record["status"] == "flagged"
    assert 'class="verdict flagged"' in html and record["headline"].split(".")[0] in html
    assert html.count('src="data:image/svg+xml;base64,') == 2  # claims plot and contamination plot
    assert "implausible" in html and "99.2%" in html  # the claim and its verdict
    assert "gsm8k/test/3" in html and "record 17" in html  # a dirty item and where it was found
    assert "token_count_probe" in html and "mismatch" in html  # the fingerprint evidence


def test_markdown_escapes_and_fences_untrusted_text(audit_record: tuple[dict, Path], recorded: Any) -> None:
    md = render_markdown(audit_record[0])
    table_lines = [line for line in md.splitlines() if line.startswith("|")]
    assert all("<script>" not in line for line in table_lines)
    # an excerpt is shown verbatim, but only inside a fenced block that it cannot close
    fenced = re.findall(r"^(`{3,})text\n(.*?)\n\1$", md, flags=re.S | re.M)
    assert any(recorded.INJECTED in body for _, body in fenced)
    outside = re.sub(r"^(`{3,})text\n.*?\n\1$", "", md, flags=re.S | re.M)
    assert "<script>" not in outside


def test_md_escape_neutralises_table_and_html_syntax() -> None:
    assert md_escape("a|b\nc <b>*x*</b>") == "a\\|b c &lt;b&gt;\\*x\\*&lt;/b&gt;"


def test_fence_is_longer_than_any_backtick_run_in_the_text(
    audit_dir: Path, make_recorder: Any, tmp_path: Path
) -> None:
    rec = make_recorder()
    original = rec.scan

    def scan(paths: list[str], **kw: Any) -> dict:
        out = original(paths, **kw)
        out["items"][0]["excerpt"] = "before\n```\n# not a heading\n````\nafter"
        return out

    rec.scan = scan
    record, _ = run_audit(
        load_audit(audit_dir / "full.toml"), out_root=tmp_path / "r", runners=rec.runners(), progress=False
    )
    md = render_markdown(record)
    assert "`````text\nbefore\n```\n# not a heading\n````\nafter\n`````" in md


def test_rendering_is_deterministic_and_matches_the_golden_file(audit_record: tuple[dict, Path]) -> None:
    record = _stable(audit_record[0])
    assert render_html(record) == render_html(json.loads(json.dumps(record)))
    md = render_markdown(record)
    assert md == render_markdown(json.loads(json.dumps(record)))
    if not GOLDEN.exists():  # first run writes it; review and commit it
        GOLDEN.parent.mkdir(parents=True, exist_ok=True)
        GOLDEN.write_text(md, encoding="utf-8")
    # versions of the installed packages differ between machines: compare everything above provenance
    head = lambda text: text.split("## Provenance")[0]  # noqa: E731
    assert head(md) == head(GOLDEN.read_text(encoding="utf-8"))


def test_a_report_renders_for_a_failed_section(audit_dir: Path, make_recorder: Any, tmp_path: Path) -> None:
    record, run_dir = run_audit(
        load_audit(audit_dir / "full.toml"),
        out_root=tmp_path / "r",
        runners=make_recorder(raise_in="fingerprint").runners(),
        progress=False,
    )
    md, html = (run_dir / "report.md").read_text(), (run_dir / "report.html").read_text()
    assert record["status"] == "flagged"  # the other sections' flags stand (harness.records.status)
    for text in (md, html):
        assert "could not complete" in text and "endpoint returned HTML" in text


def test_render_reports_rewrites_from_audit_json_only(audit_record: tuple[dict, Path]) -> None:
    _, run_dir = audit_record
    (run_dir / "report.md").unlink()
    (run_dir / "report.html").unlink()
    md, html = render_reports(run_dir / "audit.json")
    assert md.read_text().startswith("# Audit: unit")
    assert html.read_text().startswith("<!DOCTYPE html>")


def test_clean_dirty_cell_says_what_was_scored() -> None:
    from dataclasses import replace

    from harness.report.render import _clean_dirty
    from harness.report.views import ClaimRow

    base = ClaimRow("weights", "gsm8k", 0.5, 0.4, 0.3, 0.5, 20, None, "inconclusive", (), "", None, False)
    assert _clean_dirty(base) == ""
    assert _clean_dirty(replace(base, clean_score=0.4, clean_n=20)) == "none of the 20 scored items is dirty"
    assert (
        _clean_dirty(replace(base, dirty_score=1.0, dirty_n=3, clean_n=0))
        == "all 3 scored items are dirty: 100.0%"
    )
    both = replace(base, clean_score=0.35, clean_n=17, dirty_score=0.6667, dirty_n=3, contamination_p=0.04)
    assert _clean_dirty(both) == "35.0% (n=17) / 66.7% (n=3), p=0.04"
