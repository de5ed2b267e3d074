"""`harness audit FILE.toml` runs an audit; `harness audit render RUN/audit.json` re-renders its report.

The command only parses and calls: running is `harness.audit.runner`, rendering `harness.report.render`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

console = Console(stderr=True)
_STYLE = {
    "clean": "green",
    "flagged": "bold red",
    "error": "bold yellow",
    "failed": "bold yellow",
    "unresolved": "yellow",
}


def _event(name: str, phase: str, record: dict | None) -> None:
    from harness.records.audit import SECTION_TITLES

    title = SECTION_TITLES.get(name, "Local endpoint" if name == "serve" else name)
    if phase == "start":
        console.print(f"[bold]▶ {escape(title)}[/bold] …")
    elif record is not None:
        status = str(record.get("status"))
        console.print(
            f"  [{_STYLE.get(status, 'yellow')}]{escape(status)}[/]: {escape(str(record.get('headline', '')))}"
        )


def audit(
    target: Annotated[str, typer.Argument(help="An audit file (audits/NAME.toml), or the word `render`.")],
    audit_json: Annotated[
        Path | None, typer.Argument(help="With `render`: the audit.json whose report.md/html to re-render.")
    ] = None,
    out: Annotated[Path, typer.Option(help="Reports folder; the run goes to OUT/NAME/RUN_ID/.")] = Path(
        "reports"
    ),
    progress: Annotated[bool, typer.Option(help="Show the sections' progress bars.")] = True,
    as_json: Annotated[
        bool,
        typer.Option(
            "--json",
            help="Print the record (audit.json) on stdout and nothing else; progress and errors go to stderr.",
        ),
    ] = False,
) -> None:
    """Run an audit: scan, fingerprint and verify as the file configures; write audit.json and the report.

    Exit status (the same table for every command): 0 every verdict clean; 1 something flagged (a claim
    refuted or implausible, a leak, an endpoint mismatch; a flag stands even if another check failed);
    2 a check could not complete or the audit file is invalid; 3 nothing flagged but something
    unresolved (inconclusive, setting not reproduced, incomplete input).
    """
    # imported here, not at the top: `harness --help` must not load every capability's dependencies
    from harness.audit.config import AuditConfigError, load_audit
    from harness.audit.runner import run_audit
    from harness.console import print_json, stdout_to_stderr
    from harness.records.status import exit_code
    from harness.report.render import render_reports

    if target == "render":
        if audit_json is None or not audit_json.is_file():
            console.print(f"[red]render needs an existing audit.json, got {escape(str(audit_json))}[/red]")
            raise typer.Exit(2)
        md, html = render_reports(audit_json)
        console.print(f"wrote {escape(str(md))} and {escape(str(html))}")
        return
    if audit_json is not None:
        console.print("[red]one audit file at a time (or: harness audit render RUN/audit.json)[/red]")
        raise typer.Exit(2)
    try:
        config = load_audit(Path(target))
    except AuditConfigError as exc:
        console.print(f"[red]invalid audit file[/red]\n{escape(str(exc))}")
        raise typer.Exit(2) from None
    console.print(f"[bold]Audit {escape(config.name)}[/bold]: {escape(config.file.audit.description)}")
    with stdout_to_stderr(as_json):
        record, run_dir = run_audit(config, out_root=out, progress=progress, on_event=_event)
    status = record["status"]
    if as_json:
        print_json(record)
        raise typer.Exit(exit_code(status))
    console.print(
        f"\n[{_STYLE.get(status, 'yellow')}]{escape(status.upper())}[/]: {escape(record['headline'])}"
    )
    console.print(f"report: {escape(str(run_dir / 'report.html'))}  (also report.md, audit.json)")
    raise typer.Exit(exit_code(status))
