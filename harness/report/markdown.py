"""Markdown for each record kind (verify, scan, fingerprint, contamination), one renderer each, used by
the audit's report.md (``harness.report.render``) and usable on a command's own record.

Every function takes a record as its command writes it and returns Markdown text ("" when the record
has nothing to show). Model output and corpus text are untrusted: table cells go through
``md_escape`` and excerpts through ``_fence``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from harness.records.formatting import md_escape
from harness.records.formatting import md_fence as _fence
from harness.report.views import (
    ClaimRow,
    claim_rows,
    fingerprint_views,
    model_contamination_rows,
    scan_views,
)

EXCERPT_CHARS = 1200


def _pct(x: float | None, digits: int = 1) -> str:
    return "–" if x is None else f"{100 * x:.{digits}f}%"


def _interval(r: ClaimRow) -> str:
    if r.ci_low is None or r.ci_high is None:
        return ""
    return f"[{100 * r.ci_low:.1f}, {100 * r.ci_high:.1f}]"


def _clip(text: str, n: int = EXCERPT_CHARS) -> str:
    return text if len(text) <= n else text[:n] + f" … [{len(text) - n} more characters in audit.json]"


def _table(header: list[str], rows: list[list[Any]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(md_escape(c) for c in row) + " |" for row in rows]
    return [*out, ""]


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


def render_verify_markdown(by_target: Mapping[str, dict[str, Any]]) -> str:
    """Verify records keyed by what they scored ("weights", "endpoint") as one claimed-vs-measured
    table with the claims' sources; a single ``harness verify`` record is ``{"weights": record}``."""
    rows = [row for target, record in by_target.items() for row in claim_rows(target, record)]
    if not rows:
        return ""
    md = ["## Claimed vs measured", ""]
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
            for r in rows
        ],
    )
    sources = [(r.benchmark, r.source) for r in rows if r.source]
    if sources:
        md += ["Claim sources:", ""] + [f"- {md_escape(b)}: {md_escape(s)}" for b, s in dict(sources).items()]
        md += [""]
    return "\n".join(md)


def render_scan_markdown(record: dict[str, Any]) -> str:
    """A scan record (``leakage.json``): test items found per benchmark, then each dirty item with
    where it was found and a fenced excerpt."""
    contamination, dirty_items = scan_views(record)
    if not contamination:
        return ""
    md = ["## Contamination", ""]
    md += _table(
        ["benchmark", "test items", "found in training data", "share"],
        [[c.benchmark, c.items, c.dirty, _pct(c.share, 2)] for c in contamination],
    )
    for d in dirty_items:
        md += [
            f"### `{md_escape(d.item_id)}`",
            "",
            f"overlap {_pct(d.overlap)}, longest match {d.longest_match} words, at {md_escape(d.where)}",
            "",
            _fence(_clip(d.excerpt)),
            "",
        ]
    return "\n".join(md)


def render_fingerprint_markdown(record: dict[str, Any]) -> str:
    """A fingerprint record: the verdict and confidence, the evidence table and the cost."""
    evidence, cost = fingerprint_views(record)
    md = [
        "## Endpoint fingerprint",
        "",
        f"Verdict: **{md_escape(record.get('verdict'))}** (confidence {md_escape(record.get('confidence'))}).",
        "",
    ]
    if evidence:
        cols = [*list(evidence[0].keys())]
        md += _table(cols, [[e.get(c, "") for c in cols] for e in evidence])
    if cost:
        md += ["Cost: " + ", ".join(f"{md_escape(k)} {md_escape(c)}" for k, c in cost), ""]
    return "\n".join(md)


def render_contamination_markdown(record: dict[str, Any]) -> str:
    """A contamination record (``harness contamination``): published items vs fresh twins per benchmark."""
    rows = model_contamination_rows(record)
    if not rows:
        return ""
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
            for r in rows
        ],
    )
    for r in rows:
        if r.top_items:
            md += [
                f"Items of {md_escape(r.benchmark)} most likely seen: "
                + ", ".join(md_escape(i) for i in r.top_items),
                "",
            ]
    return "\n".join(md)
