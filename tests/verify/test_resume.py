"""`--resume`: a run killed mid-way continues from lm-eval's request cache and gives the same per-item
results as a run that was never interrupted (tiny random Llama, GSM8K generations, batch size 1 so that
no padding differs between the two runs)."""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pandas as pd
import pytest

pytestmark = pytest.mark.slow

N_ITEMS = 12


def _command(model: Path, out: Path, *extra: str) -> list[str]:
    return [
        sys.executable, "-m", "harness.cli", "verify", "--model", str(model), "--backend", "hf",
        "--benchmarks", "gsm8k", "--limit", str(N_ITEMS), "--max-gen-toks", "32", "--batch-size", "1",
        "--out", str(out), "-q", *extra,
    ]  # fmt: skip


def _env() -> dict[str, str]:
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.setdefault("OMP_NUM_THREADS", "1")
    return env


def _cached(out: Path) -> int:
    for db in (out / "lm_eval_cache").glob("*_rank0.db"):
        with (
            contextlib.suppress(sqlite3.Error),
            contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as con,
        ):
            return int(con.execute("SELECT COUNT(*) FROM unnamed").fetchone()[0])
    return 0


def test_a_killed_run_resumes_to_the_same_items(tiny_llama_dir: Path, tmp_path: Path) -> None:
    whole = tmp_path / "whole"
    done = subprocess.run(
        _command(tiny_llama_dir, whole), env=_env(), capture_output=True, text=True, timeout=900
    )
    assert done.returncode in (0, 1, 3), done.stderr[-3000:]

    cut = tmp_path / "cut"
    proc = subprocess.Popen(
        _command(tiny_llama_dir, cut), env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + 600
        while _cached(cut) < 3 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        finished_first = proc.poll() is not None
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert not finished_first, "the run finished before it could be interrupted; raise N_ITEMS"
    assert not (cut / "verify.json").exists()
    partial = _cached(cut)
    assert 0 < partial < N_ITEMS

    resumed = subprocess.run(
        _command(tiny_llama_dir, cut, "--resume"), env=_env(), capture_output=True, text=True, timeout=900
    )
    assert resumed.returncode == done.returncode, resumed.stderr[-3000:]
    report = orjson.loads((cut / "verify.json").read_bytes())
    assert report["timing"]["resume"] == {"requested": True, "cached_requests_at_start": partial}

    a = pd.read_parquet(whole / "items.parquet")
    b = pd.read_parquet(cut / "items.parquet")
    assert len(a) == len(b) == N_ITEMS
    cols = ["item_id", "prompt", "response", "extracted", "target", "correct", "metrics", "gen_tokens"]
    pd.testing.assert_frame_equal(a[cols], b[cols])
    first = orjson.loads((whole / "verify.json").read_bytes())
    first.pop("timing"), report.pop("timing")
    assert first == report  # everything but the clock is identical
