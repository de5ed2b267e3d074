"""`harness scan` on the command line: exit codes, --fail-on-leak, errors, and --resume after a kill."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
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


def test_cli_defaults_are_the_library_defaults() -> None:
    import inspect

    from harness.leakage import cli
    from harness.leakage.readers import DEFAULT_MAX_RECORD_BYTES
    from harness.leakage.scan import DEFAULT_BENCHMARKS, run_scan

    assert ",".join(DEFAULT_BENCHMARKS) == cli.DEFAULT_BENCHMARKS
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
