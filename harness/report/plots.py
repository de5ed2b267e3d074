"""The report's two figures, drawn with matplotlib and embedded as data URIs (no network at view time).

SVG is written with a fixed hash salt and no date, so the same audit.json draws byte-identical figures.
The figures go into the page as `<img src="data:image/svg+xml;base64,...">`: an image loaded that way
cannot run script, so a benchmark name or label from an untrusted record cannot inject anything.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")  # headless, whatever the user's environment says
import matplotlib.pyplot as plt

from harness.report.views import ClaimRow, ContaminationRow, ModelContaminationRow

_VERDICT_COLOURS = {
    "reproduced": "#2e7d32",
    "above claim": "#2e7d32",
    "below claim": "#c62828",
    "implausible": "#c62828",
    "inconclusive": "#f9a825",
}


def _svg(fig: plt.Figure) -> str:
    buf = io.StringIO()
    with matplotlib.rc_context({"svg.hashsalt": "harness-report", "svg.fonttype": "path"}):
        fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None, "Creator": None})
    plt.close(fig)
    return buf.getvalue()


def data_uri(svg: str) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")


def claims_figure(rows: Sequence[ClaimRow]) -> str | None:
    """Measured score with its 95% interval, the claim, and the label-error ceiling, per benchmark (SVG)."""
    rows = [r for r in rows if r.measured is not None or r.claimed is not None]
    if not rows:
        return None
    fig, ax = plt.subplots(figsize=(7.5, 0.55 * len(rows) + 1.4))
    labels = []
    for y, r in enumerate(reversed(rows)):
        labels.append(f"{r.benchmark} ({r.target})")
        colour = _VERDICT_COLOURS.get(r.verdict or "", "#455a64")
        if r.measured is not None:
            lo = r.ci_low if r.ci_low is not None else r.measured
            hi = r.ci_high if r.ci_high is not None else r.measured
            ax.errorbar(
                100 * r.measured,
                y,
                xerr=[[100 * (r.measured - lo)], [100 * (hi - r.measured)]],
                fmt="o",
                color=colour,
                capsize=4,
                label="measured (95% interval)",
            )
        if r.claimed is not None:
            ax.plot(
                100 * r.claimed,
                y,
                marker="D",
                color="#6a1b9a",
                linestyle="none",
                label="claimed",
            )
        if r.ceiling is not None:
            ax.plot(
                [100 * r.ceiling] * 2,
                [y - 0.35, y + 0.35],
                color="#000000",
                linestyle="--",
                linewidth=1.2,
                label="label-error ceiling",
            )
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlim(0, 100)
    ax.set_ylim(-0.7, len(labels) - 0.3)
    ax.set_xlabel("score (%)")
    ax.grid(axis="x", alpha=0.3)
    handles, names = ax.get_legend_handles_labels()
    seen = dict(zip(names, handles, strict=True))  # one legend entry per kind of mark, whichever row has it
    ax.legend(
        seen.values(),
        seen.keys(),
        loc="upper center",
        bbox_to_anchor=(0.5, -0.18 - 0.6 / len(labels)),
        ncol=3,
        frameon=False,
        fontsize=8,
    )
    ax.set_title("Claimed vs measured")
    return _svg(fig)


def contamination_figure(rows: Sequence[ContaminationRow]) -> str | None:
    """Share of each benchmark's test items found in the scanned data, with the counts (SVG)."""
    rows = list(rows)
    if not rows:
        return None
    fig, ax = plt.subplots(figsize=(7.5, 0.45 * len(rows) + 1.2))
    ys = range(len(rows))
    shares = [100 * r.share for r in reversed(rows)]
    ax.barh(list(ys), shares, color=["#c62828" if s > 0 else "#90a4ae" for s in shares])
    top = max([*shares, 1.0])
    for y, r in zip(ys, reversed(rows), strict=True):
        ax.text(100 * r.share + top * 0.01, y, f"{r.dirty} / {r.items}", va="center", fontsize=8)
    ax.set_yticks(list(ys), [r.benchmark for r in reversed(rows)])
    ax.set_xlim(0, top * 1.25)
    ax.set_xlabel("test items found in the training data (%)")
    ax.set_title("Contamination per benchmark")
    ax.grid(axis="x", alpha=0.3)
    return _svg(fig)


def corpus_profile_figure(profile: dict | None) -> str | None:
    """The scan's corpus profile (`harness scan --profile`): histogram of the per-record compression ratio,
    overall, with its median and the exact-duplicate rate in the title (SVG)."""
    overall = (profile or {}).get("overall") if isinstance(profile, dict) else None
    hist = (
        ((overall or {}).get("compression_ratio") or {}).get("histogram")
        if isinstance(overall, dict)
        else None
    )
    if not isinstance(hist, dict) or not sum(hist.get("counts") or []):
        return None
    counts, edges = list(hist["counts"]), [float(e) for e in hist["edges"]]  # bin i starts at edges[i]
    width = edges[1] - edges[0]
    fig, ax = plt.subplots(figsize=(7.5, 2.6))
    ax.bar(edges[: len(counts)], counts[: len(edges)], width=width, align="edge", color="#455a64")
    cr = overall["compression_ratio"]
    ax.set_xlabel("compression ratio per record (compressed / raw, DEFLATE level 1)")
    ax.set_ylabel("records (sampled)")
    ax.set_title(
        f"Corpus profile: median ratio {cr.get('p50')}, exact duplicates "
        f"{100 * float(overall.get('exact_duplicate_rate') or 0):.2f}% of {int(overall.get('records') or 0):,} records"
    )
    ax.grid(axis="y", alpha=0.3)
    return _svg(fig)


def twins_figure(rows: Sequence[ModelContaminationRow]) -> str | None:
    """Accuracy on the published items vs on their fresh twins, per benchmark (SVG).

    The twin accuracy carries the 95% interval of the paired drop; a gap far beyond it is the part of
    the score that does not generalise. Benchmarks without a score test (order-invariant prompts)
    are not drawn."""
    rows = [r for r in rows if r.original is not None and r.twins is not None]
    if not rows:
        return None
    fig, ax = plt.subplots(figsize=(7.5, 0.6 * len(rows) + 1.5))
    labels = []
    for y, r in enumerate(reversed(rows)):
        labels.append(r.benchmark)
        colour = (
            "#c62828"
            if r.verdict == "contaminated"
            else "#f9a825"
            if r.verdict == "inconclusive"
            else "#2e7d32"
        )
        assert r.original is not None and r.twins is not None
        ax.plot([100 * r.twins, 100 * r.original], [y, y], color="#b0bec5", linewidth=2, zorder=1)
        ax.plot(100 * r.original, y, "o", color=colour, label="published items", zorder=3)
        lo = r.twins_ci_low if r.twins_ci_low is not None else r.twins
        hi = r.twins_ci_high if r.twins_ci_high is not None else r.twins
        ax.errorbar(
            100 * r.twins,
            y,
            xerr=[[max(0.0, 100 * (r.twins - lo))], [max(0.0, 100 * (hi - r.twins))]],
            fmt="s",
            color="#455a64",
            capsize=4,
            label="fresh twins (95% interval of the drop)",
            zorder=2,
        )
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlim(0, 100)
    ax.set_ylim(-0.7, len(labels) - 0.3)
    ax.set_xlabel("accuracy (%)")
    ax.grid(axis="x", alpha=0.3)
    handles, names = ax.get_legend_handles_labels()
    seen = dict(zip(names, handles, strict=True))
    ax.legend(
        seen.values(),
        seen.keys(),
        loc="upper center",
        bbox_to_anchor=(0.5, -0.2 - 0.6 / len(labels)),
        ncol=2,
        frameon=False,
        fontsize=8,
    )
    ax.set_title("Published items vs fresh twins")
    return _svg(fig)
