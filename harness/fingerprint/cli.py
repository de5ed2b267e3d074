"""`harness fingerprint` and `harness fingerprint-signature`: parse, call, print (no logic here)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from harness.fingerprint.defaults import DEFAULT_BUDGET, DEFAULT_TOLERANCE

console = Console(stderr=True)
_STYLE = {"match": "bold green", "mismatch": "bold red", "inconclusive": "bold yellow"}


def fingerprint(
    endpoint: Annotated[
        str, typer.Option(help="The endpoint's OpenAI-compatible base URL, e.g. http://host:8000/v1.")
    ],
    model: Annotated[str, typer.Option(help="The model name the endpoint serves (sent as 'model').")],
    reference: Annotated[
        Path,
        typer.Option(
            help="The claimed model: a transformers directory (or only its tokenizer), 'smollm2', or a "
            "signature directory written by `harness fingerprint-signature`."
        ),
    ],
    api_key_env: Annotated[
        str | None,
        typer.Option(help="Name of the environment variable that holds the API key (never the key)."),
    ] = None,
    reference_endpoint: Annotated[
        str | None,
        typer.Option(
            help="A trusted OpenAI-compatible server you run with the public weights (e.g. vLLM), base URL: "
            "it scores freshly drawn probes; --reference must then be a signature (tokenizer, calibration)."
        ),
    ] = None,
    reference_model: Annotated[
        str | None, typer.Option(help="The model name the trusted endpoint serves (default: --model).")
    ] = None,
    reference_api_key_env: Annotated[
        str | None,
        typer.Option(help="Environment variable holding the trusted endpoint's API key, if it needs one."),
    ] = None,
    budget: Annotated[
        int, typer.Option(min=1, help="Most HTTP requests to send, retries included.")
    ] = DEFAULT_BUDGET,
    seed: Annotated[int, typer.Option(help="Seed that draws the probe texts from the pool (recorded).")] = 0,
    chat: Annotated[
        bool | None,
        typer.Option("--chat/--no-chat", help="Force /chat/completions (or /completions); default: detect."),
    ] = None,
    tolerance: Annotated[
        str,
        typer.Option(help="Widest numerics still called honest: 16bit, 8bit or 4bit (llama.cpp Q4 files)."),
    ] = DEFAULT_TOLERANCE,
    out: Annotated[Path, typer.Option(help="Folder for fingerprint.json and fingerprint.md.")] = Path(
        "reports/fingerprint"
    ),
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
    as_json: Annotated[
        bool,
        typer.Option(
            "--json",
            help="Print the record (fingerprint.json) on stdout and nothing else; progress and errors go "
            "to stderr.",
        ),
    ] = False,
) -> None:
    """Decide whether ENDPOINT serves the weights of REFERENCE: match, mismatch or inconclusive.

    The reference: local weights, a signature (no weights), or a signature plus a trusted endpoint
    (--reference-endpoint) that scores fresh probe draws for models too large for this machine.

    Exit status: 0 match; 1 mismatch; 3 inconclusive; 2 the endpoint or the arguments could not be used.
    """
    from harness.console import print_json, stdout_to_stderr
    from harness.fingerprint.runner import run_fingerprint
    from harness.fingerprint.trusted import resolve_reference
    from harness.records.status import exit_code

    try:
        with stdout_to_stderr(as_json):
            ref = resolve_reference(
                reference,
                model,
                endpoint=reference_endpoint,
                endpoint_model=reference_model,
                api_key_env=reference_api_key_env,
            )
            record = run_fingerprint(
                out_dir=out,
                endpoint=endpoint,
                model=model,
                reference=ref,
                budget=budget,
                seed=seed,
                api_key_env=api_key_env,
                chat=chat,
                progress=progress,
                tolerance=tolerance,
            )
    except ValueError as exc:  # bad arguments: reference, URL, key variable
        console.print(f"[bold red]error:[/bold red] {escape(str(exc))}")
        raise typer.Exit(exit_code("failed")) from None
    if as_json:
        print_json(record)
        raise typer.Exit(exit_code(record["status"]))
    if record["verdict"] is None:
        console.print(f"[bold red]error:[/bold red] {escape(record['headline'])}")
        console.print(f"details: {escape(str(out / 'fingerprint.json'))}")
        raise typer.Exit(exit_code(record["status"]))
    table = Table(title="Evidence (reject when e-value >= threshold)", show_lines=False)
    for col in ("test", "kind", "e-value", "threshold", "statistic", "requests"):
        table.add_column(col, overflow="fold")
    alpha = record["settings"]["alpha"]
    for e in record["evidence"]:
        thr = 1 / (e["weight"] * alpha) if e.get("weight") else None
        crossed = thr is not None and e["e_value"] >= thr
        table.add_row(
            escape(e["name"]),
            escape(e["kind"]),
            (f"[red]{e['e_value']:.3g}[/]" if crossed else f"{e['e_value']:.3g}") if e.get("weight") else "-",
            f"{thr:.3g}" if thr else "-",
            escape(e["statistic"]),
            str(e["requests"]),
        )
    console.print(table)
    verdict = record["verdict"]
    cost = record["cost"]
    console.print(
        f"[{_STYLE[verdict]}]{verdict.upper()}[/] (weights: {escape(record['weights_relation'])}): "
        f"{escape(record['headline'])}"
    )
    console.print(
        f"cost: {cost['requests']} requests, {cost['prompt_tokens']} prompt + {cost['completion_tokens']} "
        f"completion tokens, {record['timing']['seconds']:.1f} s; report: {escape(str(out / 'fingerprint.md'))}"
    )
    raise typer.Exit(exit_code(record["status"]))


def fingerprint_signature(
    reference: Annotated[
        Path, typer.Option(help="The claimed model: a transformers directory or 'smollm2'.")
    ],
    out: Annotated[Path, typer.Option(help="The signature directory to write.")],
    items: Annotated[int, typer.Option(min=16, help="Probe items per kind to precompute.")] = 256,
    seed: Annotated[int, typer.Option(help="Seed of the signature's own draw from the pool.")] = 0,
) -> None:
    """Precompute a reference signature (tokenizer, probe items, reference outputs, calibration), once,
    where the weights are; `harness fingerprint --reference SIG` then needs no weights."""
    from harness.fingerprint.signature import write_signature
    from harness.records.status import exit_code

    try:
        path = write_signature(reference, out, items=items, seed=seed, progress=True)
    except ValueError as exc:
        console.print(f"[bold red]error:[/bold red] {escape(str(exc))}")
        raise typer.Exit(exit_code("failed")) from None
    console.print(f"signature written: {escape(str(path))}")
