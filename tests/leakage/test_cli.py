"""`harness scan` on the command line: exit codes, --fail-on-leak, errors, and --resume after a kill."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import typing
from pathlib import Path

import pytest
from typer.testing import CliRunner

from harness.cli import app
from tests.leakage.corpora import FILLER, comparable, page, write_jsonl

runner = CliRunner()


@pytest.fixture(scope="module")
def leaky(tmp_path_factory, sets) -> Path:
    root = tmp_path_factory.mktemp("leaky")
    q = sets["gsm8k"].items[5].question
    write_jsonl(root / "a.jsonl", [{"text": page("x")}, {"text": page(q)}])
    return root


def params_default(fn, name):
    import inspect

    return inspect.signature(fn).parameters[name].default


def test_cli_defaults_are_the_library_defaults() -> None:
    import inspect

    from harness.data.registry import default_scan_set
    from harness.leakage import cli
    from harness.leakage.readers import DEFAULT_MAX_RECORD_BYTES
    from harness.leakage.scan import run_scan

    # Both default to the benchmark specs' default scan set (named in --help, which must not import it).
    assert params_default(cli.scan, "benchmarks") is None
    assert params_default(run_scan, "benchmarks") is None
    hint = typing.get_type_hints(cli.scan, include_extras=True)["benchmarks"]
    assert ",".join(default_scan_set()) in hint.__metadata__[0].help
    params = inspect.signature(cli.scan).parameters
    defaults = inspect.signature(run_scan).parameters
    assert (
        params["max_record_bytes"].default == DEFAULT_MAX_RECORD_BYTES == defaults["max_record_bytes"].default
    )
    for name in ("ngram", "floor"):
        assert params[name].default == defaults[name].default


def test_scan_writes_outputs_and_gates_on_leaks(leaky, tmp_path) -> None:
    args = ["scan", str(leaky), "--benchmarks", "gsm8k", "--out", str(tmp_path / "o"), "--no-progress"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "LEAK" in result.output
    assert {p.name for p in (tmp_path / "o").iterdir()} >= {
        "leakage.json",
        "items.parquet",
        "summary.md",
        "clean",
        "skipped.jsonl",
    }
    result = runner.invoke(app, [*args, "--fail-on-leak"])
    assert result.exit_code == 1


def test_clean_corpus_passes_the_gate(tmp_path) -> None:
    write_jsonl(tmp_path / "c.jsonl", [{"text": FILLER}])
    result = runner.invoke(
        app,
        [
            "scan",
            str(tmp_path / "c.jsonl"),
            "--benchmarks",
            "gsm8k",
            "--out",
            str(tmp_path / "o"),
            "--fail-on-leak",
            "--no-progress",
        ],
    )
    assert result.exit_code == 0 and "CLEAN" in result.output


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--field", "a..b"], "field path 'a..b'"),
        (["--engine", "spark"], "--engine must be local or ray"),
        (["--benchmarks", "gsm9k"], "unknown benchmark 'gsm9k'"),
        (["--resume"], "--resume needs the --out folder"),
    ],
)
def test_usage_errors_exit_2(leaky, extra, message) -> None:
    result = runner.invoke(app, ["scan", str(leaky), "--no-progress", *extra])
    assert result.exit_code == 2 and message in result.output, result.output


def test_missing_input_and_strict_faults_exit_2(tmp_path) -> None:
    result = runner.invoke(
        app, ["scan", str(tmp_path / "nope.jsonl"), "--benchmarks", "gsm8k", "--out", str(tmp_path / "o")]
    )
    assert result.exit_code == 2 and "nope.jsonl: no such file" in result.output
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "fine line of text here"}\n{"text": \n')
    result = runner.invoke(
        app, ["scan", str(bad), "--benchmarks", "gsm8k", "--out", str(tmp_path / "o"), "--strict"]
    )
    assert result.exit_code == 2 and "bad.jsonl: line 2: malformed json" in " ".join(result.output.split())


@pytest.mark.slow
def test_resume_after_a_kill_gives_the_same_result(sets, tmp_path) -> None:
    corpus = tmp_path / "corpus"
    q = sets["gsm8k"].items[11].question
    for i in range(24):
        pages = [{"text": page(f"page {j}", filler=30)} for j in range(600)]
        if i == 17:
            pages[300]["text"] = page(q)
        write_jsonl(corpus / f"part-{i:02d}.jsonl", pages)
    out = tmp_path / "out"
    cmd = [
        sys.executable,
        "-m",
        "harness.cli",
        "scan",
        str(corpus),
        "--out",
        str(out),
        "--benchmarks",
        "gsm8k",
        "--workers",
        "1",
        "--no-progress",
    ]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    proc = subprocess.Popen(
        cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    deadline = time.monotonic() + 120
    shards = out / "shards"
    while time.monotonic() < deadline and proc.poll() is None:
        if shards.is_dir() and len([p for p in shards.glob("*.json") if p.name != "manifest.json"]) >= 3:
            os.killpg(proc.pid, signal.SIGKILL)
            break
        time.sleep(0.01)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the scan finished before it could be killed"
    assert not (out / "leakage.json").exists()
    done = len([p for p in shards.glob("*.json") if p.name != "manifest.json"])
    resumed = subprocess.run([*cmd, "--resume"], env=env, capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    rec = json.loads((out / "leakage.json").read_text())
    assert rec["execution"]["shards_resumed"] == done >= 3
    fresh = subprocess.run(
        [*cmd[:6], str(tmp_path / "fresh"), *cmd[7:]], env=env, capture_output=True, text=True
    )
    assert fresh.returncode == 0, fresh.stderr
    again = json.loads((tmp_path / "fresh" / "leakage.json").read_text())
    assert comparable(rec) == comparable(again)
    assert [i["item_id"] for i in rec["items"] if i["dirty"]] == [sets["gsm8k"].items[11].item_id]


# --- --json: the record on stdout, nothing else; messages and progress on stderr ------------------------


def test_json_prints_the_record_alone(leaky, tmp_path) -> None:
    import orjson

    out = tmp_path / "o"
    args = ["scan", str(leaky), "--benchmarks", "gsm8k", "--out", str(out), "--no-progress", "--json"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output  # the same exit code as without --json
    record = orjson.loads(result.stdout)
    assert record == orjson.loads((out / "leakage.json").read_bytes())
    assert record["schema"] == "harness.scan" and record["status"] == "leak"
    assert "LEAK:" in result.stderr and "LEAK:" not in result.stdout
    gated = CliRunner().invoke(app, [*args, "--fail-on-leak"])
    assert gated.exit_code == 1 and orjson.loads(gated.stdout)["status"] == "leak"


def test_json_prints_a_failed_scans_record(tmp_path) -> None:
    import orjson

    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "fine line of text here"}\n{"text": \n')
    out = tmp_path / "o"
    result = CliRunner().invoke(
        app, ["scan", str(bad), "--benchmarks", "gsm8k", "--strict", "--out", str(out), "--json"]
    )
    assert result.exit_code == 2
    record = orjson.loads(result.stdout)
    assert record["status"] == "failed" and record["schema"] == "harness.scan" and record["error"]
    assert "FAILED" in result.stderr
    usage = CliRunner().invoke(app, ["scan", str(bad), "--resume", "--json"])
    assert usage.exit_code == 2 and usage.stdout == ""


@pytest.mark.slow
def test_json_keeps_the_progress_bar_off_stdout(leaky, tmp_path) -> None:
    """A real process in a pipe: the progress bar and messages on stderr, the record alone on stdout."""
    import orjson

    out = tmp_path / "o"
    proc = subprocess.run(
        [sys.executable, "-m", "harness.cli", "scan", str(leaky), "--benchmarks", "gsm8k", "--out", str(out),
         "--progress", "--json", "--workers", "1"],
        capture_output=True, timeout=300, env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert orjson.loads(proc.stdout) == orjson.loads((out / "leakage.json").read_bytes())
    assert b"LEAK" in proc.stderr
