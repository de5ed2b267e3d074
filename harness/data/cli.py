"""`harness data ...`: list, import and verify benchmark copies."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from harness.data.errors import DataError

data_app = typer.Typer(
    help="Benchmark copies: list what is available, import a local copy, verify checksums."
)
console = Console()


@data_app.command("list")
def list_sets() -> None:
    """Benchmarks, splits, item counts, where each would load from, and checksum status."""
    table = Table(title="Benchmark data")
    for col in ("benchmark", "split", "items", "source", "sha256", "checksum"):
        table.add_column(col, no_wrap=True)
    table.add_column("note", overflow="fold")
    from harness.data.store import status_rows

    for row in status_rows():
        count = "-" if row["items"] is None else f"{row['items']}/{row['expected']}"
        if row["items"] is not None and not row["complete"]:
            count += " (partial)"
        note = row["note"] if len(row["note"]) <= 70 else row["note"][:69] + "…"
        sha = row["sha256"][:12] + "…" if row["sha256"] else "-"
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
        console.print(f"[red]import failed, nothing stored:[/red] {exc}", markup=True, highlight=False)
        raise typer.Exit(2) from None
    for bset in sets:
        console.print(
            f"imported {bset.benchmark}/{bset.split}: {len(bset)} items, sha256 {bset.content_sha256[:16]}…"
        )


@data_app.command("verify")
def verify_cmd() -> None:
    """Re-check every stored copy against its recorded sha256; exit 1 on any mismatch."""
    bad = 0
    from harness.data.store import status_rows

    for row in status_rows():
        if row["items"] is None:
            continue
        ok = row["checksum"] == "ok"
        bad += not ok
        mark = "[green]ok[/green]" if ok else f"[red]{row['checksum']}[/red]"
        console.print(f"{row['benchmark']}/{row['split']} ({row['source']}): {mark}")
    if bad:
        raise typer.Exit(1)
