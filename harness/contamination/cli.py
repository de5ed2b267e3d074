"""`harness contamination`: parse the options, call `run_contamination`, print the verdicts, exit 0/1/2/3."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import typer


def contamination(
    model: str = typer.Option(
        ...,
        "--model",
        help="Model directory or Hub name (hf, vllm), 'smollm2', or the served model name (openai-*).",
    ),
    backend: str = typer.Option(..., "--backend", help="hf | vllm | openai-completions | openai-chat."),
    benchmarks: list[str] | None = typer.Option(
        None,
        "--benchmarks",
        "--benchmark",
        help="Benchmarks (repeat or comma-separate): gsm8k, mmlu, arc_challenge, arc_easy, hellaswag. Default gsm8k.",
    ),
    sample: int | None = typer.Option(
        None, "--sample", help="Test a seeded random sample of N items per benchmark."
    ),
    seed: int = typer.Option(
        1234, "--seed", help="Seeds the twins, the sample, lm-eval and the tests (recorded)."
    ),
    twins: int = typer.Option(2, "--twins", help="Fresh twins per item."),
    reference: str | None = typer.Option(
        None, "--reference", help="A model known not to have seen the test items (calibrates the tests)."
    ),
    tests: str = typer.Option(
        "scores,likelihood,completion,order",
        "--tests",
        help="Comma-separated subset of scores, likelihood, completion, order.",
    ),
    control: bool | None = typer.Option(
        None,
        "--control/--no-control",
        help="Calibrate on twinned train-split items (GSM8K; default: when no --reference).",
    ),
    alpha: float = typer.Option(0.01, "--alpha", help="Level of the contamination test (false-alarm rate)."),
    max_mde: float = typer.Option(
        20.0,
        "--max-mde",
        help="Clear only if an inflation of this many points would have been detected (80% power).",
    ),
    n_shot: int | None = typer.Option(
        None, "--n-shot", help="Few-shot examples for the score test (default lm-eval's)."
    ),
    max_gen_toks: int | None = typer.Option(
        None, "--max-gen-toks", help="Cap generated tokens (GSM8K scores)."
    ),
    out: Path | None = typer.Option(
        None,
        "--out",
        help="Output folder (contamination.json, .md, twins/); default reports/contamination-<UTC time>, "
        "ignored by git, so the private twins never reach the repository.",
    ),
    base_url: str | None = typer.Option(
        None, "--base-url", help="Endpoint URL, e.g. http://host:8000/v1 (openai-*)."
    ),
    api_key_env: str | None = typer.Option(
        None, "--api-key-env", help="Environment variable holding the key."
    ),
    tokenizer: str | None = typer.Option(
        None, "--tokenizer", help="Tokenizer of the served model (openai-completions log-likelihoods)."
    ),
    model_arg: list[str] | None = typer.Option(
        None, "--model-arg", help="KEY=VALUE for lm-eval's model (repeatable)."
    ),
    batch_size: str | None = typer.Option(None, "--batch-size", help="lm-eval batch size (hf, vllm)."),
    device: str | None = typer.Option(None, "--device", help="hf: cpu (default), cuda, mps."),
    dtype: str | None = typer.Option(None, "--dtype", help="hf/vllm dtype."),
    tensor_parallel_size: int | None = typer.Option(None, "--tensor-parallel-size", help="vllm."),
    max_model_len: int | None = typer.Option(None, "--max-model-len", help="vllm context length."),
    concurrency: int | None = typer.Option(None, "--concurrency", help="Endpoint: concurrent requests."),
    timeout: int | None = typer.Option(None, "--timeout", help="Endpoint: seconds per request."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress output."),
    as_json: bool = typer.Option(
        False,
        "--json",
        help="Print the record (contamination.json) on stdout and nothing else; progress and errors go "
        "to stderr.",
    ),
) -> None:
    """Ask the model whether it saw the test items: fresh twins, memorisation tests, inflation estimate.

    Exit code 0: no evidence, 1: contaminated, 2: error, 3: inconclusive."""
    from rich.console import Console
    from rich.markup import escape

    from harness.console import print_json, stdout_to_stderr
    from harness.contamination.runner import ContaminationError, run_contamination
    from harness.models.backends import BackendError, parse_model_args
    from harness.records.status import exit_code

    err = Console(stderr=True)
    if out is None:
        from datetime import UTC, datetime

        out = Path("reports") / f"contamination-{datetime.now(UTC):%Y%m%dT%H%M%SZ}"
    try:
        args = parse_model_args(model_arg or [])
        flags: dict[str, Any] = {
            "tokenizer": tokenizer,
            "batch_size": int(batch_size) if batch_size and batch_size.isdigit() else batch_size,
            "device": device,
            "dtype": dtype,
            "tensor_parallel_size": tensor_parallel_size,
            "max_model_len": max_model_len,
            "num_concurrent": concurrency,
            "timeout": timeout,
        }
        for key, value in flags.items():
            if value is None:
                continue
            if key in args:
                raise BackendError(f"{key} given both as an option and as --model-arg {key}=...")
            args[key] = value
        names = [n.strip() for item in (benchmarks or []) for n in item.split(",") if n.strip()]
        with stdout_to_stderr(as_json):
            record = run_contamination(
                model=model,
                backend=backend,
                out_dir=out,
                benchmarks=names or None,
                sample=sample,
                seed=seed,
                twins=twins,
                reference=reference,
                tests=[t.strip() for t in tests.split(",") if t.strip()],
                control=control,
                alpha=alpha,
                max_mde_points=max_mde,
                n_shot=n_shot,
                base_url=base_url,
                api_key_env=api_key_env,
                model_args=args or None,
                gen_kwargs={"max_gen_toks": max_gen_toks} if max_gen_toks is not None else None,
                progress=not quiet,
            )
    except (ContaminationError, BackendError, ValueError) as exc:
        err.print(f"[bold red]error:[/] {escape(str(exc))}")
        raise typer.Exit(exit_code("failed")) from None
    except Exception as exc:  # a bug or an unforeseen failure: exit 2, never 1 ("contaminated")
        if os.environ.get("HARNESS_DEBUG"):
            raise
        err.print(f"[bold red]unexpected error[/] ({type(exc).__name__}): {escape(str(exc))}")
        err.print("Set HARNESS_DEBUG=1 for the traceback.")
        raise typer.Exit(exit_code("failed")) from None
    if as_json:
        print_json(record)
        raise typer.Exit(exit_code(record["status"]))
    console = Console(width=None if Console().is_terminal else 160)
    console.print(escape(record["headline"]))
    console.print(f"Written: {out / 'contamination.json'}, {out / 'contamination.md'}")
    raise typer.Exit(exit_code(record["status"]))
