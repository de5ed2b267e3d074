"""`harness data list | import | verify` as a user runs them."""

from __future__ import annotations

from typer.testing import CliRunner

from harness.cli import app

runner = CliRunner()


def test_list_shows_every_benchmark_with_counts_and_checksums():
    result = runner.invoke(app, ["data", "list"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    for name in ("gsm8k", "mmlu", "arc_challenge", "arc_easy", "hellaswag"):
        assert name in result.output
    assert "1319/1319" in result.output and "10042/10042" in result.output
    assert "5700/14042 (partial)" in result.output


def test_verify_passes_on_the_bundled_snapshot():
    result = runner.invoke(app, ["data", "verify"])
    assert result.exit_code == 0, result.output
    assert "gsm8k/test (bundled): ok" in result.output


def test_import_then_list_and_verify(shared_benchmarks):
    result = runner.invoke(app, ["data", "import", str(shared_benchmarks / "arc"), "--benchmark", "arc_easy"])
    assert result.exit_code == 0, result.output
    assert "imported arc_easy/test: 2376 items" in result.output
    listed = runner.invoke(app, ["data", "list"], env={"COLUMNS": "200"})
    assert "imported" in listed.output
    assert runner.invoke(app, ["data", "verify"]).exit_code == 0


def test_import_error_is_one_clear_line_and_exit_2(tmp_path):
    bad = tmp_path / "test.jsonl"
    bad.write_text('{"question": "q"}\n')
    result = runner.invoke(app, ["data", "import", str(bad), "--benchmark", "gsm8k"], env={"COLUMNS": "300"})
    assert result.exit_code == 2
    assert "import failed, nothing stored" in result.output
    assert "line 1, field 'answer': missing required field" in result.output
    assert "Traceback" not in result.output


def test_verify_fails_on_a_tampered_import(shared_benchmarks):
    from harness.paths import data_store_dir

    assert (
        runner.invoke(
            app, ["data", "import", str(shared_benchmarks / "gsm8k"), "--benchmark", "gsm8k"]
        ).exit_code
        == 0
    )
    target = data_store_dir() / "gsm8k" / "test.parquet"
    target.write_bytes(target.read_bytes()[:-10] + b"0123456789")
    result = runner.invoke(app, ["data", "verify"])
    assert result.exit_code == 1
    assert "sha256 mismatch" in result.output


def test_list_in_a_pipe_keeps_whole_values():
    """Off a terminal nothing is cut to 80 columns: names, sources and checksums stay whole."""
    result = runner.invoke(app, ["data", "list"])  # CliRunner's stdout is not a terminal
    assert result.exit_code == 0, result.output
    assert "…" not in result.output
    for whole in ("arc_challenge", "bundled", "hub only", "validation"):
        assert whole in result.output
    assert "3b0dfb82537600417d2a434a36ef2c73acc97e5d4a07c72c8fb3befe2ff96dee" in result.output


def test_list_and_verify_json_are_machine_readable():
    import json

    listed = runner.invoke(app, ["data", "list", "--json"])
    assert listed.exit_code == 0, listed.output
    rows = json.loads(listed.stdout)["benchmarks"]
    test = next(r for r in rows if r["benchmark"] == "gsm8k" and r["split"] == "test")
    assert test["items"] == 1319 and test["checksum"] == "ok"
    checked = runner.invoke(app, ["data", "verify", "--json"])
    assert checked.exit_code == 0
    doc = json.loads(checked.stdout)
    assert doc["status"] == "clean" and {"benchmark", "sha256"} <= set(doc["copies"][0])
