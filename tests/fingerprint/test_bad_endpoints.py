"""Case (f): endpoints that answer with errors, garbage or HTML give a clear error record, never a crash."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from harness.cli import app
from harness.fingerprint import run_fingerprint
from harness.testing.faulty_server import FaultyServer


@pytest.fixture(autouse=True)
def _fast_retries(monkeypatch):
    """Retries still happen (and are counted); only the waiting between them is shortened."""
    monkeypatch.setattr("harness.fingerprint.client.DEFAULT_BACKOFF", 0.01)


@pytest.mark.parametrize(
    ("mode", "message"),
    [
        ("html", "HTML page"),
        ("500", "HTTP 500"),
        ("garbage", "not JSON"),
        ("schema", "no 'choices' list"),
        ("401", "check --api-key-env"),
    ],
)
def test_faulty_endpoint_gives_an_error_record(tmp_path, tiny_dir, mode, message):
    with FaultyServer(mode) as server:
        rec = run_fingerprint(
            out_dir=tmp_path,
            endpoint=server.base_url,
            model="m",
            reference=tiny_dir,
            budget=30,
            progress=False,
        )
    assert rec["status"] == "error" and rec["verdict"] is None
    assert message in rec["error"] and rec["headline"].startswith("The endpoint could not be fingerprinted")
    on_disk = json.loads((tmp_path / "fingerprint.json").read_text())
    assert on_disk["error"] == rec["error"]
    assert "Error" in (tmp_path / "fingerprint.md").read_text()
    assert rec["cost"]["requests"] <= 30


def test_unreachable_endpoint_is_a_clear_error(tmp_path, tiny_dir):
    from harness.models.server_process import free_port

    rec = run_fingerprint(
        out_dir=tmp_path,
        endpoint=f"http://127.0.0.1:{free_port()}/v1",
        model="m",
        reference=tiny_dir,
        budget=10,
        progress=False,
    )
    assert rec["status"] == "error" and "ConnectError" in rec["error"]


def test_cli_exit_codes_for_errors(tmp_path, tiny_dir):
    runner = CliRunner()
    with FaultyServer("html") as server:
        res = runner.invoke(
            app,
            [
                "fingerprint",
                "--endpoint",
                server.base_url,
                "--model",
                "m",
                "--reference",
                str(tiny_dir),
                "--out",
                str(tmp_path),
                "--no-progress",
                "--budget",
                "20",
            ],
        )
    assert res.exit_code == 2, res.output
    assert "HTML page" in " ".join(res.output.split())
    bad = runner.invoke(
        app,
        [
            "fingerprint",
            "--endpoint",
            "http://127.0.0.1:9/v1",
            "--model",
            "m",
            "--reference",
            str(tmp_path / "missing"),
            "--out",
            str(tmp_path),
            "--no-progress",
        ],
    )
    assert bad.exit_code == 2 and "does not exist" in " ".join(bad.output.split())
    nokey = runner.invoke(
        app,
        [
            "fingerprint",
            "--endpoint",
            "http://127.0.0.1:9/v1",
            "--model",
            "m",
            "--reference",
            str(tiny_dir),
            "--api-key-env",
            "HARNESS_TEST_UNSET_KEY",
            "--out",
            str(tmp_path),
            "--no-progress",
        ],
    )
    assert nokey.exit_code == 2 and "HARNESS_TEST_UNSET_KEY" in " ".join(nokey.output.split())


def test_flaky_endpoint_is_retried_not_failed(tmp_path, tiny_dir):
    """Two 503s then valid (if uninformative) answers: the run completes and accounts for the retries."""
    with FaultyServer("flaky") as server:
        rec = run_fingerprint(
            out_dir=tmp_path,
            endpoint=server.base_url,
            model="m",
            reference=tiny_dir,
            budget=25,
            progress=False,
        )
    assert rec["status"] in ("clean", "flagged", "unresolved") and rec["cost"]["retries"] == 2
    assert rec["cost"]["requests"] <= 25
