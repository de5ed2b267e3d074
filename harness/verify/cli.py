"""`harness verify`: parse the options, call `run_verify`, print the table, exit by the shared table.

Exit codes (``harness.records.status``): 0 clean, 1 flagged (implausible, below claim), 2 failed,
3 unresolved (inconclusive, setting not reproduced, a claim not checked).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import typer

from harness.records.status import ExitCode

EXIT_ERROR = int(ExitCode.FAILED)  # the others come from the record's status (harness.records.status)


def verify(
    model: str | None = typer.Option(
        None,
        "--model",
        help="Model directory, GGUF file or Hub name (hf, vllm), 'smollm2' for the bundled small model, "
        "or the served model name (openai-*).",
    ),
    backend: str | None = typer.Option(
        None, "--backend", help="vllm | hf | openai-completions | openai-chat (lm-eval's backends)."
    ),
    claims: Path | None = typer.Option(
        None, "--claims", help="Claims TOML: claimed value and setting per benchmark (see docs/verify.md)."
    ),
    benchmarks: list[str] | None = typer.Option(
        None,
        "--benchmarks",
        "--benchmark",
        help="Benchmarks to run (repeat or comma-separate): gsm8k, mmlu, arc_challenge, arc_easy, "
        "hellaswag. Default: those in --claims.",
    ),
    limit: int | None = typer.Option(
        None, "--limit", help="Score only the first N items of each lm-eval task (MMLU: per subject)."
    ),
    sample: int | None = typer.Option(
        None, "--sample", help="Score a seeded random sample of N items per benchmark instead."
    ),
    seed: int = typer.Option(1234, "--seed", help="Seeds lm-eval, few-shot sampling and --sample."),
    clean_from: Path | None = typer.Option(
        None, "--clean-from", help="leakage.json from `harness scan`: also score clean vs dirty items."
    ),
    out: Path = typer.Option(
        Path("verify-out"), "--out", help="Output folder (verify.json, verify.md, items)."
    ),
    base_url: str | None = typer.Option(
        None, "--base-url", help="Endpoint URL, e.g. http://host:8000/v1 (openai-* backends)."
    ),
    api_key_env: str | None = typer.Option(
        None, "--api-key-env", help="Name of the environment variable holding the endpoint's key."
    ),
    tokenizer: str | None = typer.Option(
        None,
        "--tokenizer",
        help="Tokenizer (dir or name) of the served model; openai-completions needs it for "
        "multiple-choice log-likelihoods.",
    ),
    model_arg: list[str] | None = typer.Option(
        None, "--model-arg", help="KEY=VALUE passed to lm-eval's model class (repeatable)."
    ),
    batch_size: str | None = typer.Option(
        None, "--batch-size", help="lm-eval batch size (hf, vllm: 'auto')."
    ),
    device: str | None = typer.Option(None, "--device", help="hf: cpu (default), cuda, cuda:1, mps."),
    dtype: str | None = typer.Option(None, "--dtype", help="hf/vllm dtype (hf default float32)."),
    tensor_parallel_size: int | None = typer.Option(None, "--tensor-parallel-size", help="vllm."),
    data_parallel_size: int | None = typer.Option(None, "--data-parallel-size", help="vllm."),
    max_model_len: int | None = typer.Option(None, "--max-model-len", help="vllm context length."),
    gpu_memory_utilization: float | None = typer.Option(None, "--gpu-memory-utilization", help="vllm."),
    concurrency: int | None = typer.Option(None, "--concurrency", help="Endpoint: concurrent requests."),
    timeout: int | None = typer.Option(None, "--timeout", help="Endpoint: seconds per request."),
    max_retries: int | None = typer.Option(None, "--max-retries", help="Endpoint: attempts per request."),
    max_gen_toks: int | None = typer.Option(
        None,
        "--max-gen-toks",
        help="Cap generated tokens (GSM8K); recorded, and the verdict notes the changed setting.",
    ),
    plausibility_only: bool = typer.Option(
        False,
        "--plausibility-only",
        help="Judge the claims against the label-error ceilings only: no model, seconds; same verify.json.",
    ),
    resume: bool = typer.Option(
        False,
        "--resume",
        help="Continue an interrupted run into the same --out from lm-eval's request cache there.",
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress output."),
    as_json: bool = typer.Option(
        False,
        "--json",
        help="Print the record (verify.json) on stdout and nothing else; progress and errors go to stderr.",
    ),
) -> None:
    """Run benchmarks through lm-eval and judge claimed scores: reproduced, consistent, above claim,
    below claim, implausible, setting not reproduced or inconclusive. Exit code 0: clean, 1: a claim
    is refuted (flagged), 2: the run failed, 3: unresolved (no flag, but something not settled)."""
    from rich.console import Console

    from harness.console import print_json, stdout_console, stdout_to_stderr
    from harness.models.backends import BackendError, parse_model_args
    from harness.verify.claims import ClaimsError
    from harness.verify.records import RecordError
    from harness.verify.runner import VerifyError, run_verify
    from harness.verify.summary import rich_table

    err = Console(stderr=True)
    try:
        args = parse_model_args(model_arg or [])
        flags: dict[str, Any] = {
            "tokenizer": tokenizer,
            "batch_size": _batch(batch_size),
            "device": device,
            "dtype": dtype,
            "tensor_parallel_size": tensor_parallel_size,
            "data_parallel_size": data_parallel_size,
            "max_model_len": max_model_len,
            "gpu_memory_utilization": gpu_memory_utilization,
            "num_concurrent": concurrency,
            "timeout": timeout,
            "max_retries": max_retries,
        }
        for key, value in flags.items():
            if value is None:
                continue
            if key in args:
                raise BackendError(f"{key} given both as an option and as --model-arg {key}=...")
            args[key] = value
        names = [n.strip() for item in (benchmarks or []) for n in item.split(",") if n.strip()]
        with stdout_to_stderr(as_json):
            report = run_verify(
                model=model,
                backend=backend,
                claims=claims,
                benchmarks=names or None,
                limit=limit,
                sample=sample,
                seed=seed,
                clean_from=clean_from,
                out_dir=out,
                base_url=base_url,
                api_key_env=api_key_env,
                model_args=args or None,
                gen_kwargs={"max_gen_toks": max_gen_toks} if max_gen_toks is not None else None,
                progress=not quiet,
                plausibility_only=plausibility_only,
                resume=resume,
            )
    except (ClaimsError, BackendError, VerifyError, RecordError) as exc:
        err.print(f"[bold red]error:[/] {_escape(str(exc))}")
        raise typer.Exit(EXIT_ERROR) from None
    except Exception as exc:  # a bug or an unforeseen failure: still exit 2, never 1 ("a claim fails")
        if os.environ.get("HARNESS_DEBUG"):
            raise
        err.print(f"[bold red]unexpected error[/] ({type(exc).__name__}): {_escape(str(exc))}")
        err.print("Set HARNESS_DEBUG=1 for the traceback.")
        raise typer.Exit(EXIT_ERROR) from None
    from harness.records.status import exit_code

    if as_json:
        print_json(report)
        raise typer.Exit(exit_code(report["status"]))
    out_console = stdout_console()  # off a terminal: whole values, never squeezed into 80 columns
    out_console.print(rich_table(report))
    out_console.print(_escape(report["headline"]))
    written = [out / "verify.json", out / "verify.md"]
    if report["settings"]["files"].get("items"):
        written.append(out / "items.parquet")
    out_console.print("Written: " + ", ".join(str(p) for p in written))
    raise typer.Exit(exit_code(report["status"]))


def _batch(value: str | None) -> int | str | None:
    if value is None:
        return None
    return int(value) if value.isdigit() else value


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)
