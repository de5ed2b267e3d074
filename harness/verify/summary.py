"""Markdown and terminal renderings of verify.json; they read only the JSON, never the run."""

from __future__ import annotations

import html
from typing import Any


def _pct(x: float | None, digits: int = 1) -> str:
    return "n/a" if x is None else f"{100 * x:.{digits}f}%"


def _cell(text: Any) -> str:
    """Claims' sources and notes are user text: escape HTML and table pipes, keep one line."""
    return html.escape(str(text), quote=False).replace("|", "\\|").replace("\n", " ")


def _setting_words(setting: dict[str, Any], shots: int) -> str:
    words = [setting["metric"]]
    if setting["filter"] != "none":
        words.append(setting["filter"])
    words.append(f"{shots}-shot")
    if setting.get("chain_of_thought"):
        words.append("CoT")
    if setting.get("chat_template"):
        words.append("chat template")
    return ", ".join(words)


def rows(report: dict[str, Any]) -> list[dict[str, str]]:
    """One row per benchmark, as strings, shared by the Markdown and the rich table."""
    out = []
    for name, sec in report["benchmarks"].items():
        m = sec["measurement"]
        claim = sec.get("claim")
        verdict = sec.get("verdict") or {}
        test = sec.get("claim_test") or {}
        data = sec["data"]
        n_note = f"{m['n']}"
        if data["limited"]:
            n_note += f" of {data['items_in_copy']} (limit)"
        if not data["complete"]:
            n_note += " PARTIAL SET"
        out.append(
            {
                "benchmark": name,
                "setting": _setting_words(sec["setting"], sec["lm_eval"]["num_fewshot"]),
                "n": n_note,
                "measured": _pct(m["score"]),
                "ci": f"{_pct(m['ci_low'])} - {_pct(m['ci_high'])}",
                "se": f"{100 * m['se']:.2f} pt ({m['se_method']})",
                "claimed": f"{claim['value']:g}%" if claim else "-",
                "p": f"{test['p_value']:.3g}" if test.get("p_value") is not None else "-",
                "mdg": _pct(test.get("minimum_detectable_gap")) if test else "-",
                "ceiling": _pct(sec["ceiling"]["value"]) if sec.get("ceiling") else "-",
                "verdict": verdict.get("label", "-") if claim else "-",
            }
        )
    return out


def render_markdown(report: dict[str, Any]) -> str:
    model = report["model"]
    ident = model.get("identity", {})
    lines = [
        "# Verify: claimed scores against lm-eval measurements",
        "",
        f"**Status: {report['status']}.** {_cell(report['headline'])}",
        "",
        f"- Model: `{_cell(model['name'])}` on backend `{model['backend']}` (lm-eval `{model['lm_eval_model']}`)",
    ]
    if ident.get("endpoint"):
        lines.append(f"- Endpoint: `{_cell(ident['endpoint'])}`")
    if ident.get("revision"):
        lines.append(f"- Revision: `{ident['revision']}`")
    settings = report["settings"]
    lines.append(f"- Seed {settings['seed']}; limit {settings['limit'] or 'none'} ({settings['limit_semantics']})")
    versions = ", ".join(f"{k} {v}" for k, v in report["versions"].items() if v)
    lines += [f"- Versions: {versions}", ""]
    partial = [n for n, s in report["benchmarks"].items() if not s["data"]["complete"]]
    for name in partial:
        note = report["benchmarks"][name]["data"]["partial_note"]
        lines += [f"> **Warning: {name} was measured on a PARTIAL test set.** {_cell(note)}", ""]
    header = ["Benchmark", "Setting", "n", "Measured", "95% CI", "SE", "Claimed", "p", "Min. detectable gap",
              "Ceiling", "Verdict"]  # fmt: skip
    keys = ["benchmark", "setting", "n", "measured", "ci", "se", "claimed", "p", "mdg", "ceiling", "verdict"]
    lines.append("| " + " | ".join(header) + " |")
    lines.append("|" + "---|" * len(header))
    for row in rows(report):
        lines.append("| " + " | ".join(_cell(row[k]) for k in keys) + " |")
    lines.append("")
    for name, sec in report["benchmarks"].items():
        details = []
        verdict = sec.get("verdict")
        if verdict:
            details += [f"- {_cell(r)}" for r in verdict.get("reasons", [])]
        if sec.get("claim"):
            details.append(f"- Claim source: {_cell(sec['claim']['source'])}")
        if sec.get("ceiling"):
            c = sec["ceiling"]
            details.append(f"- Label-error ceiling {_pct(c['value'])}: {_cell(c['citation'])}")
        elif sec.get("ceiling_note"):
            details.append(f"- No ceiling: {_cell(sec['ceiling_note'])}")
        cont = sec.get("contamination")
        if cont:
            diff = cont.get("difference_test")
            if diff:
                details.append(
                    f"- Contamination: clean {_pct(diff['clean']['score'])} (n={diff['clean']['n']}) vs dirty "
                    f"{_pct(diff['dirty']['score'])} (n={diff['dirty']['n']}), difference "
                    f"{100 * diff['difference']:+.1f} pt, p={diff['p_value']:.3g}"
                )
            details.append(f"- {_cell(cont['note'])}")
        details.append(f"- Data: {sec['data']['split']} split, sha256 `{sec['data']['content_sha256'][:16]}…`, "
                       f"source {sec['data']['source']['kind']}")  # fmt: skip
        lines += [f"## {sec['title']}", "", *details, ""]
    lines.append(f"Per-item records: `{settings['files']['items']}`; lm-eval task configs: "
                 f"`{settings['files']['lm_eval_tasks']}`.")  # fmt: skip
    return "\n".join(lines) + "\n"


def rich_table(report: dict[str, Any]):
    """The summary as a rich Table for the terminal."""
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=f"harness verify: {report['status']}")
    cols = [("Benchmark", "benchmark"), ("Setting", "setting"), ("n", "n"), ("Measured", "measured"),
            ("95% CI", "ci"), ("Claimed", "claimed"), ("p", "p"), ("Ceiling", "ceiling"), ("Verdict", "verdict")]  # fmt: skip
    for title, _ in cols:
        table.add_column(title)
    colours = {"reproduced": "green", "below claim": "red", "implausible": "bold red", "above claim": "yellow"}
    for row in rows(report):
        cells = [escape(row[key]) for _, key in cols]
        colour = colours.get(row["verdict"])
        if colour:
            cells[-1] = f"[{colour}]{cells[-1]}[/]"
        table.add_row(*cells)
    return table
