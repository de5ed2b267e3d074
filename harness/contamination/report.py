"""contamination.md, rendered from the contamination.json record alone (never re-computed).

Model output and item text are untrusted: everything that comes from them goes through the same
Markdown escaping as the audit report, and long texts go into fenced blocks that no backtick run in
the text can close.
"""

from __future__ import annotations

from typing import Any

from harness.records.formatting import md_escape as _esc
from harness.records.formatting import md_fence as _fence
from harness.records.formatting import percent


def _pct(x: Any) -> str:
    return percent(x if isinstance(x, int | float) else None, missing="–")


def _num(x: Any, digits: int = 3) -> str:
    return "–" if not isinstance(x, int | float) else f"{x:.{digits}g}"


def _pts(x: Any) -> str:
    return "–" if not isinstance(x, int | float) else f"{x:.1f}"


def render_markdown(record: dict[str, Any]) -> str:
    md = ["# Contamination", ""]
    model = record.get("model") or {}
    md += [f"Model: `{_esc(model.get('name'))}` ({_esc(model.get('backend'))}).", ""]
    if record.get("reference"):
        md += [f"Reference (known clean): `{_esc(record['reference'].get('name'))}`.", ""]
    md += [f"**{_esc(record.get('status', '')).upper()}**: {_esc(record.get('headline'))}", ""]
    settings = record.get("settings") or {}
    md += [
        f"Seed {settings.get('seed')}, {settings.get('twins_per_item')} twin(s) per item, alpha {settings.get('alpha')}, "
        f"tests: {', '.join(settings.get('tests') or [])}. Twins are regenerated from the seed; they are not stored in "
        "the repository.",
        "",
    ]
    md += [
        "| benchmark | verdict | calibrated by | items | original | twins | drop (95% CI) | inflation, points (95% CI) | p |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, s in (record.get("benchmarks") or {}).items():
        sc = s.get("scores") or {}
        ci = sc.get("drop_ci") or [None, None]
        inf = s.get("inflation") or {}
        ici = inf.get("ci_points") or [None, None]
        md.append(
            "| "
            + " | ".join(
                [
                    _esc(name),
                    _esc(s.get("verdict")),
                    _esc(s.get("calibration") or "none"),
                    str((s.get("sample") or {}).get("tested", "")),
                    _pct(sc.get("original")),
                    _pct(sc.get("twins")),
                    f"{_pts(100 * sc['drop']) if isinstance(sc.get('drop'), float) else '–'} ({_pts(100 * ci[0]) if ci[0] is not None else '–'} to {_pts(100 * ci[1]) if ci[1] is not None else '–'})",
                    f"{_pts(inf.get('points'))} ({_pts(ici[0])} to {_pts(ici[1])})",
                    _num(s.get("p_value")),
                ]
            )
            + " |"
        )
    md.append("")
    for name, s in (record.get("benchmarks") or {}).items():
        md += [f"## {_esc(name)}", ""]
        detail = s.get("verdict_detail") or {}
        md += [f"Verdict: **{_esc(s.get('verdict'))}**.", ""]
        md += [f"- {_esc(r)}" for r in detail.get("reasons") or []]
        md += [f"- {_esc(n)}" for n in s.get("notes") or []]
        md.append("")
        tw = s.get("twins") or {}
        md += [
            f"Twins: {tw.get('with_twins')} of {tw.get('considered')} items re-instantiated; left out: "
            + (", ".join(f"{_esc(k)} {v}" for k, v in (tw.get("left_out_by_reason") or {}).items()) or "none")
            + ".",
            "",
        ]
        mem = s.get("memorisation") or {}
        tests = mem.get("tests") or {}
        if tests:
            md += [
                "| test (original vs twins) | mean contrast | 95% CI | p | note |",
                "|---|---|---|---|---|",
            ]
            for tname, t in tests.items():
                md.append(
                    f"| {_esc(tname)} | {_num(t.get('statistic'))} | {_num(t.get('ci_low'))} to {_num(t.get('ci_high'))} | "
                    f"{_num(t.get('p_value'))} | {'weak signal' if t.get('weak') else ''} |"
                )
            md.append("")
        order = mem.get("test_set_order")
        if order and order.get("ran"):
            md += [
                f"Test-set order (Oren et al. 2023): {order.get('shards')} shards of {order.get('shard_size')} items, "
                f"{order.get('shuffles_per_shard')} shuffles each; t-test p={_num(order.get('t_test_p_value'))}, exact rank "
                f"test p={_num(order.get('rank_test_p_value'))}.",
                "",
            ]
        comp = mem.get("completion")
        if comp:
            md += [
                f"Completion of the question's second half: exact {_pct(comp.get('exact_rate_original'))} on originals vs "
                f"{_pct(comp.get('exact_rate_twins'))} on twins; fuzzy {_num(comp.get('fuzzy_mean_original'))} vs "
                f"{_num(comp.get('fuzzy_mean_twins'))}.",
                "",
            ]
        top = s.get("items") or []
        if top:
            md += ["Items most likely seen (combined contrast, best first):", ""]
            md += [
                "| item | score | original right | twins right | log-likelihood ratio |",
                "|---|---|---|---|---|",
            ]
            for row in top[:10]:
                md.append(
                    f"| {_esc(row.get('item_id'))} | {_num(row.get('score'))} | {_num(row.get('original_correct'))} | "
                    f"{_num(row.get('twins_correct'))} | {_num(row.get('loglikelihood_ratio'))} |"
                )
            md.append("")
        for ex in (s.get("examples") or [])[:2]:
            if ex.get("original_text"):
                md += [
                    f"Original text of `{_esc(ex['item_id'])}` (as scored):",
                    "",
                    _fence(str(ex["original_text"])),
                    "",
                ]
    return "\n".join(md) + "\n"
