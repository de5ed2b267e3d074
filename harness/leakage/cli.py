"""`harness scan PATH...`: parse the options and call `run_scan`; nothing else lives here."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

console = Console(stderr=True)
# The scan's defaults, spelled out so that `harness --help` does not import numpy (test_cli checks them).
DEFAULT_BENCHMARKS = "gsm8k,mmlu,arc_challenge,arc_easy,hellaswag"


def scan(
    paths: Annotated[
        list[str],
        typer.Argument(
            help="Files, directories or glob patterns: .jsonl/.json/.parquet/.txt/.arrow (optionally .gz, "
            ".zst, .bz2, .xz) and datasets save_to_disk folders."
        ),
    ],
    benchmarks: Annotated[
        str, typer.Option(help="Comma-separated benchmarks whose test sets are indexed.")
    ] = DEFAULT_BENCHMARKS,
    ngram: Annotated[int, typer.Option(min=1, help="n-gram length in words (GPT-3 used 13).")] = 13,
    field: Annotated[
        list[str] | None,
        typer.Option(
            help="Field path to scan, e.g. text or messages[].content (repeatable). Default: every string field."
        ),
    ] = None,
    workers: Annotated[int | None, typer.Option(min=1, help="Worker processes (default: all cores).")] = None,
    engine: Annotated[str, typer.Option(help="local (processes on this machine) or ray.")] = "local",
    ray_address: Annotated[
        str | None, typer.Option(help="Address of an existing Ray cluster (engine ray).")
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Output folder (default: reports/scan-<UTC time>/).")
    ] = None,
    fail_on_leak: Annotated[
        bool, typer.Option(help="Exit with status 1 when any test item is dirty.")
    ] = False,
    resume: Annotated[bool, typer.Option(help="Continue an interrupted scan into the same --out.")] = False,
    strict: Annotated[
        bool, typer.Option(help="Stop at the first unreadable record instead of counting it.")
    ] = False,
    floor: Annotated[
        int, typer.Option(min=1, help="Fields shorter than this many words are not indexed.")
    ] = 8,
    max_record_bytes: Annotated[
        int,
        typer.Option(min=1, help="Records larger than this are skipped (and counted), not held in memory."),
    ] = 256 * 1024**2,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
) -> None:
    """Scan training data for test-set leakage: n-gram overlap of a corpus against the test sets.

    Writes leakage.json, items.parquet, summary.md and clean/<benchmark>.txt under --out.
    Exit status: 0 done (1 with --fail-on-leak when an item is dirty); 2 the scan could not run.
    """
    from harness.leakage import FieldPathError, ResumeError, ScanFaultError, ScanInputError
    from harness.leakage.scan import default_out_dir, run_scan

    if engine not in ("local", "ray"):
        console.print(f"[red]--engine must be local or ray, not {escape(engine)}[/red]")
        raise typer.Exit(2)
    if ray_address and engine != "ray":
        console.print("[red]--ray-address needs --engine ray[/red]")
        raise typer.Exit(2)
    if resume and out is None:
        console.print("[red]--resume needs the --out folder of the interrupted scan[/red]")
        raise typer.Exit(2)
    names = [b.strip() for b in benchmarks.split(",") if b.strip()]
    out_dir = out or default_out_dir()
    try:
        record = run_scan(
            paths,
            out_dir=out_dir,
            progress=progress,
            ngram=ngram,
            benchmarks=names,
            fields=field or None,
            workers=workers,
            engine=engine,
            ray_address=ray_address,
            resume=resume,
            strict=strict,
            floor=floor,
            max_record_bytes=max_record_bytes,
        )
    except (ScanInputError, FieldPathError, ScanFaultError, ResumeError, KeyError) as exc:
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        console.print(f"[red]scan failed:[/red] {escape(str(message))}", soft_wrap=True)
        raise typer.Exit(2) from None
    style = "bold red" if record["status"] == "flagged" else "green"
    console.print(f"[{style}]{record['status'].upper()}[/]: {escape(record['headline'])}", soft_wrap=True)
    console.print(f"wrote {escape(str(out_dir))}/leakage.json, items.parquet, summary.md, clean/")
    if fail_on_leak and record["status"] == "flagged":
        raise typer.Exit(1)
