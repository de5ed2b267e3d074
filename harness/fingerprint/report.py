"""Write ``fingerprint.json`` and render ``fingerprint.md`` from it (never from live objects).

Model output quoted in the report is untrusted: it is escaped for Markdown and cut short.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

_MD_SPECIAL = str.maketrans({c: f"\\{c}" for c in "\\`*_{}[]<>()#+!|"})


def md_escape(value: Any, limit: int = 300) -> str:
    text = " ".join(str(value).split())
    if len(text) > limit:
        text = text[:limit] + "…"
    return text.translate(_MD_SPECIAL)


def _num(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return "" if v is None else str(v)


def render_markdown(record: dict[str, Any]) -> str:
    lines = [
        "# Endpoint fingerprint",
        "",
        f"**{md_escape(record.get('headline', ''), 1000)}**",
        "",
        f"- Endpoint: `{md_escape(record.get('endpoint'))}`, model `{md_escape(record.get('model'))}`",
        f"- Reference: `{md_escape((record.get('reference') or {}).get('path'))}`",
        f"- Status: **{md_escape(record.get('status'))}**; verdict: **{md_escape(record.get('verdict'))}**; "
        f"confidence: {_num(record.get('confidence'))}; weights: {md_escape(record.get('weights_relation'))}",
    ]
    if record.get("confidence_meaning"):
        lines.append(f"- Confidence means: {md_escape(record['confidence_meaning'])}")
    if record.get("error"):
        lines += ["", "## Error", "", f"    {record['error'][:2000]}"]
    evidence = record.get("evidence") or []
    alpha = (record.get("settings") or {}).get("alpha")
    if evidence:
        lines += [
            "",
            "## Evidence",
            "",
            "A test rejects 'the endpoint serves the claimed weights honestly' when its e-value reaches "
            "1 / (weight x alpha); informational rows (weight 0) never decide.",
            "",
            "| test | kind | measured | statistic | weight | e-value | threshold | complete | requests | tokens |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for e in evidence:
            w = e.get("weight") or 0
            thr = 1 / (w * alpha) if w and alpha else None
            lines.append(
                "| "
                + " | ".join(
                    md_escape(x, 400)
                    for x in (
                        e.get("name"),
                        e.get("kind"),
                        e.get("measured"),
                        e.get("statistic"),
                        _num(w),
                        _num(e.get("e_value")) if w else "-",
                        _num(thr) if thr else "-",
                        "yes" if e.get("complete") else "no",
                        e.get("requests"),
                        e.get("tokens"),
                    )
                )
                + " |"
            )
    bounds = record.get("bounds") or {}
    if bounds:
        lines += ["", "## What a match could have missed (95% power)", ""]
        lines += [f"- {md_escape(k)}: {md_escape(v)}" for k, v in bounds.items()]
    cal = record.get("calibration") or {}
    if cal:
        lines += [
            "",
            "## Calibration (honest numerics of the reference)",
            "",
            f"- margin threshold tau per tier: {md_escape(cal.get('tau'))}; honest flip bound at a token "
            f"above tau: {md_escape(cal.get('flip_rate'))} ({cal.get('positions')} calibration positions)",
            f"- RMS log-probability difference per variant: {md_escape(cal.get('pooled_rms'))}",
        ]
    if record.get("skipped"):
        lines += ["", "## Not run", ""]
        lines += [f"- {md_escape(s['probe'])}: {md_escape(s['reason'])}" for s in record["skipped"]]
    cost = record.get("cost") or {}
    timing = record.get("timing") or {}
    lines += [
        "",
        "## Cost",
        "",
        f"- requests: {cost.get('requests')} (retries {cost.get('retries')}), prompt tokens "
        f"{cost.get('prompt_tokens')}, completion tokens {cost.get('completion_tokens')}",
        f"- seconds: {_num(timing.get('seconds'))} in total, {_num(timing.get('endpoint_seconds'))} waiting "
        "for the endpoint (under `timing` in the JSON, the only part that changes between identical runs)",
        "",
        "Method, assumptions and limits: docs/fingerprint.md.",
        "",
    ]
    return "\n".join(lines)


def write_outputs(record: dict[str, Any], out_dir: Path) -> tuple[Path, Path]:
    """Validate and write fingerprint.json (``FingerprintRecord``) and fingerprint.md into ``out_dir``,
    each atomically (``record`` must be json_safe)."""
    from harness.records.files import atomic_write_text
    from harness.records.fingerprint import write_fingerprint_record

    out_dir.mkdir(parents=True, exist_ok=True)
    json_path, md_path = out_dir / "fingerprint.json", out_dir / "fingerprint.md"
    write_fingerprint_record(json_path, record)
    atomic_write_text(md_path, render_markdown(record))
    return json_path, md_path
