"""`harness contamination` as users call it: options reach run_contamination, exit codes follow the table."""

from __future__ import annotations

from typing import Any

import pytest
from typer.testing import CliRunner

from harness.cli import app

runner = CliRunner()


def _record(status: str) -> dict[str, Any]:
    return {"status": status, "headline": f"gsm8k: {status}.", "benchmarks": {}}


@pytest.mark.parametrize(("status", "code"), [("clean", 0), ("flagged", 1), ("unresolved", 3)])
def test_exit_codes_and_options(monkeypatch, tmp_path, status, code):
    seen: dict[str, Any] = {}

    def fake(**kw: Any) -> dict:
        seen.update(kw)
        return _record(status)

    monkeypatch.setattr("harness.contamination.runner.run_contamination", fake)
    result = runner.invoke(
        app,
        [
            "contamination", "--model", "m", "--backend", "hf", "--benchmarks", "gsm8k,mmlu", "--sample", "30",
            "--twins", "3", "--reference", "ref", "--tests", "likelihood,completion", "--no-control",
            "--max-gen-toks", "64", "--n-shot", "0", "--out", str(tmp_path), "--batch-size", "4",
        ],
    )  # fmt: skip
    assert result.exit_code == code, result.output
    assert seen["benchmarks"] == ["gsm8k", "mmlu"] and seen["sample"] == 30 and seen["twins"] == 3
    assert seen["reference"] == "ref" and seen["control"] is False and seen["n_shot"] == 0
    assert seen["tests"] == ["likelihood", "completion"] and seen["gen_kwargs"] == {"max_gen_toks": 64}
    assert seen["model_args"] == {"batch_size": 4}
    assert status in result.output


def test_bad_input_exits_2_with_a_message(tmp_path):
    result = runner.invoke(
        app, ["contamination", "--model", "m", "--backend", "nope", "--out", str(tmp_path)]
    )
    assert result.exit_code == 2
    assert "unknown backend" in result.output
    result = runner.invoke(
        app,
        ["contamination", "--model", "m", "--backend", "hf", "--benchmarks", "squad", "--out", str(tmp_path)],
    )
    assert result.exit_code == 2 and "unknown benchmark" in result.output
