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
from harness.report.views import AuditView, ClaimRow, build_view

EXCERPT_CHARS = 1200
STATUS_WORDS = {
    "clean": "CLEAN — nothing flagged",
    "flagged": "FLAGGED — a problem was found",
    "error": "INCOMPLETE — a check failed",
    "failed": "INCOMPLETE — a check failed",
    "unresolved": "UNRESOLVED — nothing flagged, but not everything could be settled",
}


def _pct(x: float | None, digits: int = 1) -> str:
    return "–" if x is None else f"{100 * x:.{digits}f}%"


def _interval(r: ClaimRow) -> str:
    if r.ci_low is None or r.ci_high is None:
        return ""
    return f"[{100 * r.ci_low:.1f}, {100 * r.ci_high:.1f}]"


def _clip(text: str, n: int = EXCERPT_CHARS) -> str:
    return text if len(text) <= n else text[:n] + f" … [{len(text) - n} more characters in audit.json]"


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


def md_escape(text: Any) -> str:
    """Text safe inside a Markdown table cell: no raw HTML, no column breaks, no line breaks."""
    s = "" if text is None else str(text)
    s = s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    s = s.replace("|", "\\|").replace("\r", " ").replace("\n", " ")
    for ch in "*_`[]":
        s = s.replace(ch, "\\" + ch)
    return s


def _fence(text: str) -> str:
    """A fenced block that no backtick run inside the text can close early."""
    longest = max((len(run) for run in text.split("\n") for run in _backtick_runs(run)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}text\n{text}\n{fence}"


def _backtick_runs(line: str) -> list[str]:
    runs, cur = [], ""
    for ch in line:
        if ch == "`":
            cur += ch
        elif cur:
            runs.append(cur)
            cur = ""
    return [*runs, cur] if cur else runs


def _table(header: list[str], rows: list[list[Any]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(md_escape(c) for c in row) + " |" for row in rows]
    return [*out, ""]


def render_markdown(audit: dict[str, Any]) -> str:
    v: AuditView = build_view(audit)
    md = [f"# Audit: {md_escape(v.name)}", ""]
    if v.description:
        md += [md_escape(v.description), ""]
    md += [f"**{STATUS_WORDS.get(v.status, v.status)}.** {md_escape(v.headline)}", ""]
    md += [f"Run `{v.run_id}`, started {v.started_at}, exit status {v.exit_code}.", ""]
    md += _table(["check", "status", "result"], [[s.title, s.status, s.headline] for s in v.sections])
    if v.attribution:
        md += [f"> {md_escape(v.attribution.get('note'))}", ""]
    if v.claims:
        md += ["## Claimed vs measured", ""]
        md += _table(
            [
                "target",
                "benchmark",
                "setting",
                "claimed",
                "measured",
                "95% interval",
                "n",
                "ceiling",
                "verdict",
                "clean / dirty items",
                "why",
            ],
            [
                [
                    r.target,
                    r.benchmark + (" (partial set)" if r.partial else ""),
                    r.setting,
                    _pct(r.claimed),
                    _pct(r.measured),
                    _interval(r),
                    r.n,
                    _pct(r.ceiling),
                    r.verdict or "no claim",
                    _clean_dirty(r),
                    "; ".join(r.reasons),
                ]
                for r in v.claims
            ],
        )
        sources = [(r.benchmark, r.source) for r in v.claims if r.source]
        if sources:
            md += ["Claim sources:", ""] + [
                f"- {md_escape(b)}: {md_escape(s)}" for b, s in dict(sources).items()
            ]
            md += [""]
    if v.contamination:
        md += ["## Contamination", ""]
        md += _table(
            ["benchmark", "test items", "found in training data", "share"],
            [[c.benchmark, c.items, c.dirty, _pct(c.share, 2)] for c in v.contamination],
        )
        for d in v.dirty_items:
            md += [
                f"### `{md_escape(d.item_id)}`",
                "",
                f"overlap {_pct(d.overlap)}, longest match {d.longest_match} words, at {md_escape(d.where)}",
                "",
                _fence(_clip(d.excerpt)),
                "",
            ]
    md += _model_contamination_markdown(v)
    if v.fingerprint is not None:
        md += [
            "## Endpoint fingerprint",
            "",
            f"Verdict: **{md_escape(v.fingerprint.get('verdict'))}** "
            f"(confidence {md_escape(v.fingerprint.get('confidence'))}).",
            "",
        ]
        if v.evidence:
            cols = [*list(v.evidence[0].keys())]
            md += _table(cols, [[e.get(c, "") for c in cols] for e in v.evidence])
        if v.cost:
            md += ["Cost: " + ", ".join(f"{md_escape(k)} {md_escape(c)}" for k, c in v.cost), ""]
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


def _model_contamination_markdown(v: AuditView) -> list[str]:
    """The model-side contamination section: originals vs fresh twins and the verdict per benchmark."""
    if not v.model_contamination:
        return []
    md = ["## Contamination (model side): published items vs fresh twins", ""]
    md += _table(
        [
            "benchmark",
            "verdict",
            "calibrated by",
            "items",
            "published",
            "twins",
            "drop (95% CI)",
            "inflation, points (95% CI)",
            "p",
            "why",
        ],
        [
            [
                r.benchmark,
                r.verdict,
                r.calibration or "none",
                r.items,
                _pct(r.original),
                _pct(r.twins),
                _drop(r),
                _inflation(r),
                f"{r.p_value:.3g}" if r.p_value is not None else "",
                "; ".join(r.reasons),
            ]
            for r in v.model_contamination
        ],
    )
    for r in v.model_contamination:
        if r.top_items:
            md += [
                f"Items of {md_escape(r.benchmark)} most likely seen: "
                + ", ".join(md_escape(i) for i in r.top_items),
                "",
            ]
    return md


def _drop(r: Any) -> str:
    if r.drop is None:
        return ""
    low, high = r.drop_ci
    text = f"{100 * r.drop:.1f} pts"
    return text + (f" ({100 * low:.1f} to {100 * high:.1f})" if low is not None and high is not None else "")


def _inflation(r: Any) -> str:
    if r.inflation_points is None:
        return ""
    low, high = r.inflation_ci
    return f"{r.inflation_points:.1f}" + (
        f" ({low:.1f} to {high:.1f})" if low is not None and high is not None else ""
    )


def _clean_dirty(r: ClaimRow) -> str:
    if r.clean_score is None and r.dirty_score is None:
        return ""
    if not r.dirty_n:
        return f"none of the {r.clean_n} scored items is dirty"
    if not r.clean_n:
        return f"all {r.dirty_n} scored items are dirty: {_pct(r.dirty_score)}"
    text = f"{_pct(r.clean_score)} (n={r.clean_n}) / {_pct(r.dirty_score)} (n={r.dirty_n})"
    return text + (f", p={r.contamination_p:.3g}" if r.contamination_p is not None else "")


def render_reports(audit_json: Path) -> tuple[Path, Path]:
    """Write report.md and report.html next to an audit.json (read and validated as an AuditRecord);
    returns their paths."""
    audit_json = Path(audit_json)
    audit = record_dict(read_audit_record(audit_json))
    md_path, html_path = audit_json.with_name("report.md"), audit_json.with_name("report.html")
    md_path.write_text(render_markdown(audit), encoding="utf-8")
    html_path.write_text(render_html(audit), encoding="utf-8")
    return md_path, html_path
