"""`harness data ...`: list, import and verify benchmark copies."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from harness.console import print_json, stdout_console
from harness.data.errors import DataError
from harness.records.status import ExitCode

data_app = typer.Typer(
    help="Benchmark copies: list what is available, import a local copy, verify checksums."
)
JSON_OPTION = typer.Option("--json", help="Print the rows as JSON on stdout (for scripts), no table.")


@data_app.command("list")
def list_sets(as_json: Annotated[bool, JSON_OPTION] = False) -> None:
    """Benchmarks, splits, item counts, where each would load from, and checksum status."""
    from harness.data.store import status_rows

    rows = status_rows()
    if as_json:
        print_json({"benchmarks": rows})
        return
    # On a terminal long values are shortened to fit; in a pipe or a file every value is whole.
    console = stdout_console()
    short = console.is_terminal
    table = Table(title="Benchmark data")
    for col in ("benchmark", "split", "items", "source", "sha256", "checksum"):
        table.add_column(col, no_wrap=True)
    table.add_column("note", overflow="fold" if short else "ignore", no_wrap=not short)
    for row in rows:
        count = "-" if row["items"] is None else f"{row['items']}/{row['expected']}"
        if row["items"] is not None and not row["complete"]:
            count += " (partial)"
        note = row["note"] if not short or len(row["note"]) <= 70 else row["note"][:69] + "…"
        sha = (row["sha256"][:12] + "…" if short else row["sha256"]) if row["sha256"] else "-"
        table.add_row(row["benchmark"], row["split"], count, row["source"], sha, row["checksum"], note)
    console.print(table)


@data_app.command("import")
def import_cmd(
    path: Annotated[
        Path, typer.Argument(help="File or directory: Hub schema or the original release format.")
    ],
    benchmark: Annotated[str, typer.Option(help="gsm8k, mmlu, arc_challenge, arc_easy or hellaswag.")],
    split: Annotated[list[str] | None, typer.Option(help="Split(s) to import; default: all found.")] = None,
    encoding: Annotated[str, typer.Option(help="Text encoding of CSV/JSONL files.")] = "utf-8",
    partial: Annotated[
        bool, typer.Option(help="Accept a copy with fewer items than the official set.")
    ] = False,
) -> None:
    """Validate a local copy (schema and item count), then store it where the tool looks first."""
    from harness.data.store import import_copy

    try:
        sets = import_copy(path, benchmark, split or None, encoding=encoding, partial=partial)
    except (DataError, KeyError) as exc:
        stdout_console().print(
            f"[red]import failed, nothing stored:[/red] {exc}", markup=True, highlight=False
        )
        raise typer.Exit(int(ExitCode.FAILED)) from None
    console = stdout_console()
    for bset in sets:
        console.print(
            f"imported {bset.benchmark}/{bset.split}: {len(bset)} items, sha256 {bset.content_sha256[:16]}…"
        )


@data_app.command("verify")
def verify_cmd(as_json: Annotated[bool, JSON_OPTION] = False) -> None:
    """Re-check every stored copy against its recorded sha256; exit 1 on any mismatch."""
    from harness.data.store import status_rows

    rows = [row for row in status_rows() if row["items"] is not None]
    bad = sum(row["checksum"] != "ok" for row in rows)
    if as_json:
        print_json(
            {
                "status": "flagged" if bad else "clean",
                "copies": [
                    {k: row[k] for k in ("benchmark", "split", "source", "sha256", "checksum")}
                    for row in rows
                ],
            }
        )
    else:
        console = stdout_console()
        for row in rows:
            ok = row["checksum"] == "ok"
            mark = "[green]ok[/green]" if ok else f"[red]{row['checksum']}[/red]"
            console.print(f"{row['benchmark']}/{row['split']} ({row['source']}): {mark}")
    if bad:
        raise typer.Exit(int(ExitCode.FLAGGED))
