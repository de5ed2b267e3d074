"""`harness scan PATH...`: parse the options and call `run_scan`; nothing else lives here."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

console = Console(stderr=True)


def scan(
    paths: Annotated[
        list[str],
        typer.Argument(
            help="Files, directories or glob patterns: .jsonl/.json/.parquet/.txt/.arrow (optionally .gz, "
            ".zst, .bz2, .xz) and datasets save_to_disk folders."
        ),
    ],
    benchmarks: Annotated[
        str | None,
        typer.Option(
            help="Comma-separated benchmarks whose test sets are indexed (default: the benchmark specs' "
            "default scan set, gsm8k,mmlu,arc_challenge,arc_easy,hellaswag; `harness data list`)."
        ),
    ] = None,
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
        bool,
        typer.Option(
            help="Gate: exit 1 when any test item is dirty, else 3 when the scan is incomplete, else 0."
        ),
    ] = False,
    max_skipped: Annotated[
        float,
        typer.Option(
            min=0.0,
            max=1.0,
            help="Fraction of skipped records tolerated before the scan is INCOMPLETE (damaged files and "
            "scans that read nothing never pass).",
        ),
    ] = 0.0,
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
    profile: Annotated[
        bool,
        typer.Option(
            help="Also profile the corpus per file and overall: gzip compression ratio per record, "
            "exact-duplicate rate, record length (in leakage.json and summary.md)."
        ),
    ] = False,
    rephrased: Annotated[
        bool,
        typer.Option(
            help="Second stage: also find test items rewritten in other words (content words, a fuzzy "
            "score, GSM8K's numbers), reported apart with their scores. Slower."
        ),
    ] = False,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
    as_json: Annotated[
        bool,
        typer.Option(
            "--json",
            help="Print the record (leakage.json) on stdout and nothing else; progress and messages go to stderr.",
        ),
    ] = False,
) -> None:
    """Scan training data for test-set leakage: n-gram overlap of a corpus against the test sets.

    Writes leakage.json, items.parquet, summary.md and clean/<benchmark>.txt under --out.
    Status: CLEAN, LEAK, or INCOMPLETE when something could not be read (never CLEAN then).
    Exit status: 0 done, 2 the scan could not run; with --fail-on-leak, 1 LEAK, 3 INCOMPLETE, 0 CLEAN.
    With --json the record is printed on stdout (a failed scan's too); the exit status is the same.
    """
    from harness.console import print_json, stdout_to_stderr
    from harness.leakage import FieldPathError, ResumeError, ScanFaultError, ScanInputError
    from harness.leakage.engines import LocalEngine, RayEngine
    from harness.leakage.scan import default_out_dir, run_scan
    from harness.records.status import exit_code

    if engine not in ("local", "ray"):
        console.print(f"[red]--engine must be local or ray, not {escape(engine)}[/red]")
        raise typer.Exit(2)
    if ray_address and engine != "ray":
        console.print("[red]--ray-address needs --engine ray[/red]")
        raise typer.Exit(2)
    if resume and out is None:
        console.print("[red]--resume needs the --out folder of the interrupted scan[/red]")
        raise typer.Exit(2)
    names = [b.strip() for b in benchmarks.split(",") if b.strip()] if benchmarks is not None else None
    out_dir = out or default_out_dir()
    # The CLI chooses where shards run; run_scan only receives the engine.
    runner = RayEngine(ray_address, workers) if engine == "ray" else LocalEngine(workers)
    try:
        with stdout_to_stderr(as_json):
            record = run_scan(
                paths,
                out_dir=out_dir,
                progress=progress,
                ngram=ngram,
                benchmarks=names,
                fields=field or None,
                engine=runner,
                resume=resume,
                strict=strict,
                floor=floor,
                max_record_bytes=max_record_bytes,
                max_skipped=max_skipped,
                profile=profile,
                rephrased=rephrased,
            )
    except (ScanInputError, FieldPathError, ScanFaultError, ResumeError, KeyError) as exc:
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        console.print(f"[red]FAILED: scan could not run:[/red] {escape(str(message))}", soft_wrap=True)
        if as_json and not isinstance(exc, ResumeError):  # a resume refused leaves the other scan's record
            _print_failed_record(out_dir)
        raise typer.Exit(2) from None
    status = record["status"]
    style = {"leak": "bold red", "incomplete": "bold yellow"}.get(status, "green")
    console.print(f"[{style}]{status.upper()}[/]: {escape(record['headline'])}", soft_wrap=True)
    for reason in record["completeness"]["not_read"]:
        console.print(f"  not read: {escape(reason)}", soft_wrap=True)
    console.print(f"wrote {escape(str(out_dir))}/leakage.json, items.parquet, summary.md, clean/")
    if as_json:
        print_json(record)
    if fail_on_leak:
        code = exit_code(status)
        if code:
            raise typer.Exit(code)


def _print_failed_record(out_dir: Path) -> None:
    """The `failed` record run_scan wrote, on stdout (nothing when it could not be written)."""
    from harness.console import print_json
    from harness.records.io import record_dict
    from harness.records.scan import read_scan_record

    try:
        record = read_scan_record(out_dir / "leakage.json")
    except (OSError, ValueError):  # RecordValidationError is a ValueError
        return
    print_json(record_dict(record))
