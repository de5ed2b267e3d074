"""What the report shows, pulled out of `audit.json` once, for the Markdown and HTML renderers and the plots.

The renderers read audit.json only (never re-run or re-compute a section); this module just finds the
numbers in each section's own record. Section records are written by other capabilities, so every lookup
tolerates a missing key: a report of a failed or partial run must still render.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from harness.records.audit import SECTION_TITLES

FAILING_VERDICTS = ("below claim", "implausible")


@dataclass(frozen=True)
class ClaimRow:
    """One benchmark of one target (weights or endpoint): claimed vs measured, all as fractions 0..1."""

    target: str
    benchmark: str
    claimed: float | None
    measured: float | None
    ci_low: float | None
    ci_high: float | None
    n: int | None
    ceiling: float | None
    verdict: str | None
    reasons: tuple[str, ...]
    setting: str
    source: str | None
    partial: bool
    clean_score: float | None = None
    dirty_score: float | None = None
    clean_n: int | None = None
    dirty_n: int | None = None
    contamination_p: float | None = None

    @property
    def failing(self) -> bool:
        return self.verdict in FAILING_VERDICTS


@dataclass(frozen=True)
class ContaminationRow:
    benchmark: str
    items: int
    dirty: int

    @property
    def share(self) -> float:
        return self.dirty / self.items if self.items else 0.0


@dataclass(frozen=True)
class DirtyItem:
    item_id: str
    benchmark: str
    overlap: float | None
    longest_match: int | None
    where: str
    excerpt: str


@dataclass(frozen=True)
class ModelContaminationRow:
    """One benchmark of the model-side contamination section: originals vs fresh twins, and the verdict."""

    benchmark: str
    verdict: str
    calibration: str | None
    items: int | None
    original: float | None
    twins: float | None
    twins_ci_low: float | None  # 95% interval of the twin accuracy implied by the drop's interval
    twins_ci_high: float | None
    drop: float | None
    drop_ci: tuple[float | None, float | None]
    inflation_points: float | None
    inflation_ci: tuple[float | None, float | None]
    p_value: float | None
    reasons: tuple[str, ...]
    top_items: tuple[str, ...]


@dataclass(frozen=True)
class SectionView:
    key: str
    title: str
    status: str
    headline: str
    error: str | None
    traceback_tail: str | None


@dataclass
class AuditView:
    name: str
    description: str
    status: str
    headline: str
    run_id: str
    started_at: str
    seconds: float | None
    sections: list[SectionView]
    claims: list[ClaimRow] = field(default_factory=list)
    contamination: list[ContaminationRow] = field(default_factory=list)
    dirty_items: list[DirtyItem] = field(default_factory=list)
    fingerprint: dict[str, Any] | None = None
    model_contamination: list[ModelContaminationRow] = field(default_factory=list)
    evidence: list[dict[str, str]] = field(default_factory=list)
    cost: list[tuple[str, str]] = field(default_factory=list)
    attribution: dict[str, Any] | None = None
    versions: dict[str, Any] = field(default_factory=dict)
    checksums: list[tuple[str, str]] = field(default_factory=list)
    exit_code: int | None = None


def _num(x: Any) -> float | None:
    return float(x) if isinstance(x, int | float) and not isinstance(x, bool) else None


def _fraction(x: Any) -> float | None:
    """Claims are written in percent in claims files and as fractions inside the statistics."""
    v = _num(x)
    if v is None:
        return None
    return v / 100.0 if v > 1.0 else v


def _records(section: dict[str, Any], *keys: str) -> list[tuple[str, dict]]:
    """Per-benchmark records, whether stored as {name: rec} or [{"benchmark": name, ...}]."""
    for key in keys:
        value = section.get(key)
        if isinstance(value, dict):
            return [(str(k), v) for k, v in value.items() if isinstance(v, dict)]
        if isinstance(value, list):
            return [(str(v.get("benchmark", v.get("name", "?"))), v) for v in value if isinstance(v, dict)]
    return []


def _first(d: dict, *keys: str) -> Any:
    for k in keys:
        if isinstance(d, dict) and d.get(k) is not None:
            return d[k]
    return None


def _setting(claim: dict, rec: dict) -> str:
    """The setting the run used (verify records it with the effective shot count), else the claim's."""
    cfg = rec.get("setting") if isinstance(rec.get("setting"), dict) else claim or {}
    parts = []
    if cfg.get("metric"):
        shown_filter = cfg.get("filter") not in (None, "", "none")
        parts.append(str(cfg["metric"]) + (f" ({cfg['filter']})" if shown_filter else ""))
    if cfg.get("n_shot") is not None:
        parts.append(f"{cfg['n_shot']}-shot")
    if cfg.get("chain_of_thought"):
        parts.append("CoT")
    if cfg.get("chat_template"):
        parts.append("chat template")
    return ", ".join(parts)


def claim_rows(target: str, section: dict[str, Any]) -> list[ClaimRow]:
    rows = []
    for bench, rec in _records(section, "benchmarks", "results"):
        claim = rec.get("claim") if isinstance(rec.get("claim"), dict) else {}
        m = _first(rec, "measurement", "measured") or {}
        m = m if isinstance(m, dict) else {"score": m}
        test = rec.get("claim_test") if isinstance(rec.get("claim_test"), dict) else {}
        ceiling = rec.get("ceiling") if isinstance(rec.get("ceiling"), dict) else {}
        verdict = rec.get("verdict")
        label, reasons = (
            (verdict.get("label"), verdict.get("reasons") or [])
            if isinstance(verdict, dict)
            else (verdict, rec.get("reasons") or [])
        )
        claimed = (
            _num(test.get("claimed")) if test.get("claimed") is not None else _fraction(claim.get("value"))
        )
        cvd = _first(rec, "clean_vs_dirty", "contamination", "subsets") or {}
        clean = cvd.get("clean") if isinstance(cvd, dict) and isinstance(cvd.get("clean"), dict) else {}
        dirty = cvd.get("dirty") if isinstance(cvd, dict) and isinstance(cvd.get("dirty"), dict) else {}
        source = rec.get("source") or rec.get("data_source") or {}
        rows.append(
            ClaimRow(
                target=target,
                benchmark=bench,
                claimed=claimed,
                measured=_num(_first(m, "score", "value")),
                ci_low=_num(m.get("ci_low")),
                ci_high=_num(m.get("ci_high")),
                n=int(m["n"]) if _num(m.get("n")) is not None else None,
                ceiling=_num(_first(ceiling, "value")),
                verdict=str(label) if label else None,
                reasons=tuple(str(r) for r in reasons),
                setting=_setting(claim, rec),
                source=str(claim["source"]) if claim.get("source") else None,
                partial=bool(rec.get("partial"))
                or (isinstance(source, dict) and source.get("complete") is False),
                clean_score=_num(clean.get("score")),
                dirty_score=_num(dirty.get("score")),
                clean_n=int(clean["n"]) if _num(clean.get("n")) is not None else None,
                dirty_n=int(dirty["n"]) if _num(dirty.get("n")) is not None else None,
                contamination_p=_num(cvd.get("p_value")) if isinstance(cvd, dict) else None,
            )
        )
    return rows


def _where(w: Any) -> str:
    if not isinstance(w, dict):
        return str(w or "")
    parts = [str(w.get("file", "?"))]
    if w.get("record") is not None:
        parts.append(f"record {w['record']}")
    if w.get("offset") is not None:
        parts.append(f"char {w['offset']}")
    return ", ".join(parts)


def scan_views(section: dict[str, Any]) -> tuple[list[ContaminationRow], list[DirtyItem]]:
    contamination = [
        ContaminationRow(bench, int(rec.get("items") or 0), int(rec.get("dirty") or 0))
        for bench, rec in _records(section, "benchmarks")
    ]
    dirty = [
        DirtyItem(
            item_id=str(i.get("item_id")),
            benchmark=str(i.get("benchmark", "")),
            overlap=_num(i.get("overlap")),
            longest_match=int(i["longest_match"]) if _num(i.get("longest_match")) is not None else None,
            where=_where(i.get("where")),
            excerpt=str(i.get("excerpt") or ""),
        )
        for i in section.get("items") or []
        if isinstance(i, dict) and i.get("dirty")
    ]
    return contamination, dirty


def _cell(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, dict):
        return ", ".join(f"{k}={_cell(x)}" for k, x in v.items())
    if isinstance(v, list):
        return ", ".join(_cell(x) for x in v)
    return "" if v is None else str(v)


EVIDENCE_COLUMNS = ("name", "measured", "statistic", "supports", "strength", "requests", "tokens")


def fingerprint_views(section: dict[str, Any]) -> tuple[list[dict[str, str]], list[tuple[str, str]]]:
    evidence = []
    for ev in section.get("evidence") or []:
        if not isinstance(ev, dict):
            continue
        row = {c: _cell(ev.get(c)) for c in EVIDENCE_COLUMNS}
        extra = {k: v for k, v in ev.items() if k not in EVIDENCE_COLUMNS}
        row["details"] = _cell(extra)
        evidence.append(row)
    cost = section.get("cost") if isinstance(section.get("cost"), dict) else {}
    return evidence, [(str(k), _cell(v)) for k, v in cost.items()]


def model_contamination_rows(section: dict[str, Any]) -> list[ModelContaminationRow]:
    """The contamination record's per-benchmark findings (harness.contamination), tolerant of gaps."""
    rows = []
    for bench, rec in _records(section, "benchmarks"):
        scores = rec.get("scores") if isinstance(rec.get("scores"), dict) else {}
        inflation = rec.get("inflation") if isinstance(rec.get("inflation"), dict) else {}
        detail = rec.get("verdict_detail") if isinstance(rec.get("verdict_detail"), dict) else {}
        drop_ci = scores.get("drop_ci") if isinstance(scores.get("drop_ci"), list) else [None, None]
        inf_ci = inflation.get("ci_points") if isinstance(inflation.get("ci_points"), list) else [None, None]
        original = _num(scores.get("original"))
        low, high = _num(drop_ci[0]) if drop_ci else None, _num(drop_ci[1]) if len(drop_ci) > 1 else None
        sample = rec.get("sample") if isinstance(rec.get("sample"), dict) else {}
        rows.append(
            ModelContaminationRow(
                benchmark=bench,
                verdict=str(rec.get("verdict") or "error"),
                calibration=str(rec["calibration"]) if rec.get("calibration") else None,
                items=int(sample["tested"]) if _num(sample.get("tested")) is not None else None,
                original=original,
                twins=_num(scores.get("twins")),
                twins_ci_low=original - high if original is not None and high is not None else None,
                twins_ci_high=original - low if original is not None and low is not None else None,
                drop=_num(scores.get("drop")),
                drop_ci=(low, high),
                inflation_points=_num(inflation.get("points")),
                inflation_ci=(
                    _num(inf_ci[0]) if inf_ci else None,
                    _num(inf_ci[1]) if len(inf_ci) > 1 else None,
                ),
                p_value=_num(rec.get("p_value")),
                reasons=tuple(str(r) for r in detail.get("reasons") or []),
                top_items=tuple(str(i) for i in (rec.get("top_items") or [])[:10]),
            )
        )
    return rows


def _flatten_checksums(d: Any, prefix: str = "") -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    if isinstance(d, dict):
        for k, v in d.items():
            if isinstance(v, dict) and "sha256" in v:
                out.append(
                    (f"{prefix}{k}", str(v["sha256"] or v.get("note", "")) + f" ({v.get('bytes')} bytes)")
                )
            elif isinstance(v, dict):
                out += _flatten_checksums(v, f"{prefix}{k}: ")
            else:
                out.append((f"{prefix}{k}", str(v)))
    return out


def build_view(audit: dict[str, Any]) -> AuditView:
    """Everything the report shows, from the audit record alone."""
    sections = audit.get("sections") or {}
    timing = audit.get("timing") or {}
    view = AuditView(
        name=str(audit.get("name", "")),
        description=str(audit.get("description") or ""),
        status=str(audit.get("status", "error")),
        headline=str(audit.get("headline", "")),
        run_id=str(timing.get("run_id", "")),
        started_at=str(timing.get("started_at", "")),
        seconds=_num(timing.get("seconds")),
        sections=[
            SectionView(
                key=k,
                title=SECTION_TITLES.get(k, k),
                status=str(s.get("status", "error")),
                headline=str(s.get("headline", "")),
                error=str(s["error"]) if s.get("error") else None,
                traceback_tail=str(s["traceback_tail"]) if s.get("traceback_tail") else None,
            )
            for k, s in sections.items()
            if isinstance(s, dict)
        ],
        attribution=audit.get("attribution"),
        versions=dict(audit.get("versions") or {}),
        checksums=_flatten_checksums(audit.get("checksums") or {}),
        exit_code=audit.get("exit_code"),
    )
    for key, target in (("verify_weights", "weights"), ("verify_endpoint", "endpoint")):
        if isinstance(sections.get(key), dict) and sections[key].get("status") != "error":
            view.claims += claim_rows(target, sections[key])
    scan = sections.get("scan")
    if isinstance(scan, dict) and scan.get("status") != "error":
        view.contamination, view.dirty_items = scan_views(scan)
    fp = sections.get("fingerprint")
    if isinstance(fp, dict) and fp.get("status") != "error":
        view.fingerprint = {k: fp.get(k) for k in ("verdict", "confidence", "headline", "weights_relation")}
        view.evidence, view.cost = fingerprint_views(fp)
    mc = sections.get("contamination")
    if isinstance(mc, dict) and mc.get("status") != "error":
        view.model_contamination = model_contamination_rows(mc)
    return view
