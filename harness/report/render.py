"""Render `audit.json` into `report.md` and a self-contained `report.html` (no network at view time).

Both are drawn from the audit record alone, so a report can be re-rendered (or audited) later without
re-running anything: `harness audit render reports/NAME/RUN/audit.json`. Model output and corpus text
are untrusted: jinja2 autoescaping is on for the HTML, and the Markdown escapes HTML and table syntax.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2

from harness.records.audit import read_audit_record
from harness.records.io import record_dict
from harness.report import plots
from harness.report.markdown import (
    _clean_dirty,
    _clip,
    _drop,
    _fence,
    _inflation,
    _interval,
    _pct,
    _table,
    md_escape,
    render_contamination_markdown,
    render_fingerprint_markdown,
    render_scan_markdown,
    render_verify_markdown,
)
from harness.report.views import AuditView, build_view

STATUS_WORDS = {
    "clean": "CLEAN — nothing flagged",
    "flagged": "FLAGGED — a problem was found",
    "error": "INCOMPLETE — a check failed",
    "failed": "INCOMPLETE — a check failed",
    "unresolved": "UNRESOLVED — nothing flagged, but not everything could be settled",
}


_env = jinja2.Environment(
    loader=jinja2.PackageLoader("harness.report", "templates"),
    autoescape=True,  # every value is escaped unless marked safe; only our own data URIs are
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
_env.filters["pct"] = _pct
_env.filters["interval"] = _interval
_env.filters["clip"] = _clip
_env.filters["clean_dirty"] = lambda r: _clean_dirty(r)
_env.filters["drop"] = lambda r: _drop(r)
_env.filters["inflation"] = lambda r: _inflation(r)


def render_html(audit: dict[str, Any]) -> str:
    view = build_view(audit)
    claims_svg = plots.claims_figure(view.claims)
    contamination_svg = plots.contamination_figure(view.contamination)
    scan = (audit.get("sections") or {}).get("scan")
    profile_svg = plots.corpus_profile_figure(scan.get("profile") if isinstance(scan, dict) else None)
    twins_svg = plots.twins_figure(view.model_contamination)
    return _env.get_template("report.html.j2").render(
        v=view,
        status_words=STATUS_WORDS,
        claims_plot=plots.data_uri(claims_svg) if claims_svg else None,
        contamination_plot=plots.data_uri(contamination_svg) if contamination_svg else None,
        profile_plot=plots.data_uri(profile_svg) if profile_svg else None,
        twins_plot=plots.data_uri(twins_svg) if twins_svg else None,
    )


def render_markdown(audit: dict[str, Any]) -> str:
    """The audit's report.md: its own header, status table and provenance around each section's
    record rendered by that record kind's own renderer (``harness.report.markdown``)."""
    v: AuditView = build_view(audit)
    md = [f"# Audit: {md_escape(v.name)}", ""]
    if v.description:
        md += [md_escape(v.description), ""]
    md += [f"**{STATUS_WORDS.get(v.status, v.status)}.** {md_escape(v.headline)}", ""]
    md += [f"Run `{v.run_id}`, started {v.started_at}, exit status {v.exit_code}.", ""]
    md += _table(["check", "status", "result"], [[s.title, s.status, s.headline] for s in v.sections])
    if v.attribution:
        md += [f"> {md_escape(v.attribution.get('note'))}", ""]
    sections = {k: s for k, s in (audit.get("sections") or {}).items() if _rendered(s)}
    verify = {t: sections[f"verify_{t}"] for t in ("weights", "endpoint") if f"verify_{t}" in sections}
    parts = [
        render_verify_markdown(verify),
        render_scan_markdown(sections["scan"]) if "scan" in sections else "",
        render_contamination_markdown(sections["contamination"]) if "contamination" in sections else "",
        render_fingerprint_markdown(sections["fingerprint"]) if "fingerprint" in sections else "",
    ]
    md += [part for part in parts if part]
    errors = [s for s in v.sections if s.error]
    if errors:
        md += ["## Errors", ""]
        for s in errors:
            md += [
                f"### {s.title}",
                "",
                _fence(s.error + ("\n\n" + s.traceback_tail if s.traceback_tail else "")),
                "",
            ]
    md += ["## Provenance", ""]
    md += _table(["package", "version"], [[k, val or "not installed"] for k, val in v.versions.items()])
    md += _table(["input", "sha256"], [[k, c] for k, c in v.checksums])
    return "\n".join(md)


def _rendered(section: Any) -> bool:
    """A section the report renders from its record: one that ran (a failed one shows under Errors)."""
    return isinstance(section, dict) and section.get("status") != "error"


def render_reports(audit_json: Path) -> tuple[Path, Path]:
    """Write report.md and report.html next to an audit.json (read and validated as an AuditRecord);
    returns their paths."""
    audit_json = Path(audit_json)
    audit = record_dict(read_audit_record(audit_json))
    md_path, html_path = audit_json.with_name("report.md"), audit_json.with_name("report.html")
    md_path.write_text(render_markdown(audit), encoding="utf-8")
    html_path.write_text(render_html(audit), encoding="utf-8")
    return md_path, html_path
