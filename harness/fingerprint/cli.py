"""`harness fingerprint`: parse arguments, call ``run_fingerprint``, print the verdict (no logic here)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from harness.fingerprint.defaults import DEFAULT_BUDGET

console = Console(stderr=True)
_STYLE = {"match": "bold green", "mismatch": "bold red", "inconclusive": "bold yellow"}
EXIT = {"match": 0, "mismatch": 1, "inconclusive": 1}


def fingerprint(
    endpoint: Annotated[
        str, typer.Option(help="The endpoint's OpenAI-compatible base URL, e.g. http://host:8000/v1.")
    ],
    model: Annotated[str, typer.Option(help="The model name the endpoint serves (sent as 'model').")],
    reference: Annotated[
        Path,
        typer.Option(
            help="The claimed weights on local disk: a transformers directory (or only its tokenizer), or 'smollm2'."
        ),
    ],
    api_key_env: Annotated[
        str | None,
        typer.Option(help="Name of the environment variable that holds the API key (never the key)."),
    ] = None,
    budget: Annotated[
        int, typer.Option(min=1, help="Most HTTP requests to send, retries included.")
    ] = DEFAULT_BUDGET,
    seed: Annotated[
        int, typer.Option(help="Seed for sampled requests, local sampling and permutations.")
    ] = 0,
    chat: Annotated[
        bool | None,
        typer.Option("--chat/--no-chat", help="Force /chat/completions (or /completions); default: detect."),
    ] = None,
    out: Annotated[Path, typer.Option(help="Folder for fingerprint.json and fingerprint.md.")] = Path(
        "reports/fingerprint"
    ),
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
) -> None:
    """Decide whether ENDPOINT serves the weights of REFERENCE: match, mismatch or inconclusive.

    Exit status: 0 match; 1 mismatch or inconclusive; 2 the endpoint or the arguments could not be used.
    """
    from harness.fingerprint.runner import run_fingerprint

    try:
        record = run_fingerprint(
            out_dir=out,
            endpoint=endpoint,
            model=model,
            reference=reference,
            budget=budget,
            seed=seed,
            api_key_env=api_key_env,
            chat=chat,
            progress=progress,
        )
    except ValueError as exc:  # bad arguments: reference, URL, key variable
        console.print(f"[bold red]error:[/bold red] {escape(str(exc))}")
        raise typer.Exit(2) from None
    if record["status"] == "error":
        console.print(f"[bold red]error:[/bold red] {escape(record['headline'])}")
        console.print(f"details: {escape(str(out / 'fingerprint.json'))}")
        raise typer.Exit(2)
    table = Table(title="Evidence", show_lines=False)
    for col in ("probe", "supports", "strength", "statistic", "requests"):
        table.add_column(col, overflow="fold")
    for e in record["evidence"]:
        style = {"mismatch": "red", "match": "green"}.get(e["supports"], "")
        table.add_row(
            escape(e["name"]),
            f"[{style}]{escape(e['supports'])}{' ✱' if e['decisive'] else ''}[/]"
            if style
            else escape(e["supports"]),
            "" if e["strength"] is None else f"{e['strength']:.3g}",
            escape(e["statistic"]),
            str(e["requests"]),
        )
    console.print(table)
    verdict = record["verdict"]
    cost = record["cost"]
    console.print(
        f"[{_STYLE[verdict]}]{verdict.upper()}[/] (confidence {record['confidence']}, weights: "
        f"{escape(record['weights_relation'])}): {escape(record['headline'])}"
    )
    console.print(
        f"cost: {cost['requests']} requests, {cost['prompt_tokens']} prompt + {cost['completion_tokens']} "
        f"completion tokens, {record['timing']['seconds']:.1f} s; report: {escape(str(out / 'fingerprint.md'))}"
    )
    raise typer.Exit(EXIT[verdict])
