"""Markdown and terminal renderings of verify.json; they read only the JSON, never the run."""

from __future__ import annotations

import html
from typing import Any

from harness.records.formatting import percent, points


def _cell(text: Any) -> str:
    """Claims' sources and notes are user text: escape HTML and table pipes, keep one line."""
    return html.escape(str(text), quote=False).replace("|", "\\|").replace("\n", " ")


def _setting_words(setting: dict[str, Any], shots: int) -> str:
    words = [setting["metric"]]
    if setting["filter"] != "none":
        words.append(setting["filter"])
    words.append(f"{shots}-shot" if shots is not None else "default shots")
    if setting.get("chain_of_thought"):
        words.append("CoT")
    if setting.get("chat_template"):
        words.append("chat template")
    return ", ".join(words)


def rows(report: dict[str, Any]) -> list[dict[str, str]]:
    """One row per benchmark, as strings, shared by the Markdown and the rich table."""
    out = []
    for name, sec in report["benchmarks"].items():
        m = sec.get("measurement") or {}
        claim = sec.get("claim")
        verdict = sec.get("verdict") or {}
        test = sec.get("claim_test") or {}
        ceiling_test = sec.get("ceiling_test") or {}
        data = sec.get("data") or {}
        n_note = f"{m['n']}" if m else "not measured"
        if data.get("limited"):
            method = data.get("selection", {}).get("method")
            n_note += f" of {data['items_in_copy']} ({'sample' if method == 'random_sample' else 'limit'})"
        if data and not data.get("complete", True):
            n_note += " PARTIAL SET"
        shots = (sec.get("lm_eval") or {}).get("num_fewshot", sec["setting"].get("n_shot"))
        p = test.get("p_adjusted", test.get("p_value"))
        if p is None and ceiling_test:
            p = ceiling_test.get("p_value")
        out.append(
            {
                "benchmark": name,
                "setting": _setting_words(sec["setting"], shots),
                "se": f"{points(m['se'], 2)} pt ({m['se_method']})" if m else "-",
                "n": n_note,
                "measured": percent(m["score"]) if m else "-",
                "ci": f"{percent(m['ci_low'])} - {percent(m['ci_high'])}" if m else "-",
                "claimed": f"{claim['value']:g}%" if claim else "-",
                "p": f"{p:.3g}" if p is not None else "-",
                "mdg": percent(test.get("minimum_detectable_gap")) if test else "-",
                "ceiling": percent(sec["ceiling"]["value"]) if sec.get("ceiling") else "-",
                "verdict": verdict.get("label", "-") if claim else "-",
            }
        )
    return out


def render_markdown(report: dict[str, Any]) -> str:
    model = report.get("model") or {}
    ident = model.get("identity", {})
    lines = [
        "# Verify: claimed scores against lm-eval measurements",
        "",
        f"**Status: {report['status']}.** {_cell(report['headline'])}",
        "",
    ]
    if model:
        lines.append(
            f"- Model: `{_cell(model['name'])}` on backend `{model['backend']}` (lm-eval `{model['lm_eval_model']}`)"
        )
    else:
        lines.append("- Plausibility only: no model was run; the claims were checked against the ceilings.")
    if ident.get("endpoint"):
        lines.append(f"- Endpoint: `{_cell(ident['endpoint'])}`")
    if ident.get("revision"):
        lines.append(f"- Revision: `{ident['revision']}`")
    settings = report["settings"]
    if not model:
        chosen = "nothing measured"
    elif settings.get("sample"):
        chosen = f"a random sample of {settings['sample']} items per benchmark (--sample)"
    elif settings.get("limit"):
        chosen = f"limit {settings['limit']} ({settings['limit_semantics']})"
    else:
        chosen = "all items"
    lines.append(f"- Seed {settings['seed']}; {chosen}")
    family = report.get("family")
    if family:
        lines.append(f"- Family of claims: {_cell(family['statement'])}")
    versions = ", ".join(f"{k} {v}" for k, v in report["versions"].items() if v)
    lines += [f"- Versions: {versions}", ""]
    if ident.get("served_models", {}).get("models"):
        served = ", ".join(f"{m.get('id')} (root {m.get('root')})" for m in ident["served_models"]["models"])
        lines.insert(-1, f"- Endpoint serves: {_cell(served)}")
    partial = [n for n, s in report["benchmarks"].items() if s.get("data") and not s["data"]["complete"]]
    for name in partial:
        note = report["benchmarks"][name]["data"]["partial_note"]
        lines += [f"> **Warning: {name} was measured on a PARTIAL test set.** {_cell(note)}", ""]
    header = ["Benchmark", "Setting", "n", "Measured", "95% CI", "SE", "Claimed", "p (adjusted)",
              "Min. detectable shortfall", "Ceiling", "Verdict"]  # fmt: skip
    keys = ["benchmark", "setting", "n", "measured", "ci", "se", "claimed", "p", "mdg", "ceiling", "verdict"]
    lines.append("| " + " | ".join(header) + " |")
    lines.append("|" + "---|" * len(header))
    for row in rows(report):
        lines.append("| " + " | ".join(_cell(row[k]) for k in keys) + " |")
    lines.append("")
    for sec in report["benchmarks"].values():
        details = []
        verdict = sec.get("verdict")
        if verdict:
            details.append(f"- **Verdict: {verdict['label']}.**")
            details += [f"- {_cell(r)}" for r in verdict.get("reasons", [])]
        else:
            details += [f"- {_cell(r)}" for r in sec.get("caveats", [])]
        claim = sec.get("claim")
        if claim:
            details.append(f"- Claim source: {_cell(claim.get('source') or 'not given in the claims file')}")
        estimate = sec.get("full_test_estimate")
        if estimate:
            details.append(
                f"- Full-test-set estimate (subjects weighted by size): {percent(estimate['score'])} "
                f"({percent(estimate['ci_low'])} - {percent(estimate['ci_high'])})"
            )
        # a verdict's reasons already state the ceiling, or why there is none
        if not verdict and sec.get("ceiling"):
            c = sec["ceiling"]
            details.append(
                f"- Label-error ceiling {percent(c['value'])} (95% range {percent(c['value_low'])} - "
                f"{percent(c['value_high'])}): {_cell(c['citation'])}"
            )
        elif not verdict and sec.get("ceiling_note"):
            details.append(f"- No ceiling: {_cell(sec['ceiling_note'])}")
        cont = sec.get("contamination")
        if cont:
            clean, dirty = cont.get("clean"), cont.get("dirty")
            if clean and dirty:
                details.append(
                    f"- Contamination: clean {percent(clean['score'])} (n={clean['n']}) vs dirty "
                    f"{percent(dirty['score'])} (n={dirty['n']}), difference {100 * cont['difference']:+.1f} pt, "
                    f"p={cont['p_value']:.3g}; contamination-adjusted score {percent(cont['adjusted_score'])}"
                )
            details.append(f"- {_cell(cont['note'])}")
        data = sec.get("data")
        if data:
            details.append(
                f"- Data: {data['split']} split, {data['selection']['description']}, sha256 "
                f"`{data['content_sha256'][:16]}…`, source {data['source']['kind']}"
            )
        lines += [f"## {sec['title']}", "", *details, ""]
    if settings["files"].get("items"):
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
    colours = {
        "reproduced": "green",
        "consistent": "green",
        "below claim": "red",
        "implausible": "bold red",
        "above claim": "yellow",
        "setting not reproduced": "yellow",
        "inconclusive": "yellow",
    }
    for row in rows(report):
        cells = [escape(row[key]) for _, key in cols]
        colour = colours.get(row["verdict"])
        if colour:
            cells[-1] = f"[{colour}]{cells[-1]}[/]"
        table.add_row(*cells)
    return table
