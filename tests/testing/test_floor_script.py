"""scripts/fingerprint_floor.py: resumes from its JSONL, retries failures, writes the tables.

The fingerprint and the servers are replaced by stand-ins here (the real ones are exercised by the
slow tests and by running the script); what is tested is the script's bookkeeping.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "fingerprint_floor.py"


@pytest.fixture
def script(monkeypatch):
    spec = importlib.util.spec_from_file_location("fingerprint_floor", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    calls: list[tuple[str, int]] = []
    broken: set[str] = set()

    @contextlib.contextmanager
    def fake_serve(ep, reference_dir):
        if ep.name in broken:
            raise RuntimeError(f"{ep.name} would not start")
        from harness.testing.zoo import RunningEndpoint

        yield RunningEndpoint(ep, f"http://fake/{ep.name}/v1", "smollm2", [{"name": "x"}])

    def fake_fingerprint(*, out_dir, endpoint, model, reference, budget, seed, progress, tolerance):
        calls.append((endpoint, seed))
        if tolerance != "4bit":
            calls.append(("tolerance", tolerance))
        verdict = "mismatch" if "tokenizer" in endpoint else "match"
        return {
            "verdict": verdict,
            "status": "clean",
            "endpoint": endpoint,
            "cost": {"requests": 3, "prompt_tokens": 20, "completion_tokens": 5},
            "evidence": [],
            "timing": {"seconds": 0.1},
        }

    import harness.fingerprint

    monkeypatch.setattr(mod, "serve_endpoint", fake_serve)
    monkeypatch.setattr(harness.fingerprint, "run_fingerprint", fake_fingerprint, raising=False)
    monkeypatch.setattr("harness.models.smollm2.resolve_model_path", lambda name: "/nonexistent/ref")
    return mod, calls, broken


def test_resume_retry_and_tables(script, tmp_path: Path) -> None:
    mod, calls, broken = script
    args = ["--out", str(tmp_path), "--endpoints", "fp32", "other-tokenizer", "--runs", "2"]
    broken.add("other-tokenizer")
    assert mod.main(args) == 2  # a server that did not start is a harness failure
    assert calls == [("http://fake/fp32/v1", 0), ("http://fake/fp32/v1", 1)]
    rows = [json.loads(x) for x in (tmp_path / "floor.jsonl").read_text().splitlines()]
    assert [r.get("failure", False) for r in rows] == [False, False, True]
    broken.clear()
    calls.clear()
    assert mod.main(args) == 0  # done runs are skipped, the failed endpoint is retried
    assert calls == [("http://fake/other-tokenizer/v1", 0), ("http://fake/other-tokenizer/v1", 1)]
    calls.clear()
    assert mod.main([*args, "--runs", "3"]) == 0  # more runs: only the new seed
    assert sorted(calls) == [("http://fake/fp32/v1", 2), ("http://fake/other-tokenizer/v1", 2)]
    summary = json.loads((tmp_path / "floor.json").read_text())
    assert summary["honest_total"]["runs"] == 3 and summary["honest_total"]["mismatch"] == 0
    (power,) = summary["power"]
    assert power["class"] == "other tokenizer" and power["mismatch"] == 3
    md = (tmp_path / "floor.md").read_text()
    assert "| other tokenizer | 1 | 3 | 3 | 100.0% (" in md
    manifest = json.loads((tmp_path / "zoo_manifest.json").read_text())
    assert set(manifest) == {"fp32", "other-tokenizer"} and manifest["fp32"]["honest"] is True


def test_cut_line_is_redone(script, tmp_path: Path) -> None:
    mod, calls, _ = script
    args = ["--out", str(tmp_path), "--endpoints", "fp32", "--runs", "1"]
    assert mod.main(args) == 0
    text = (tmp_path / "floor.jsonl").read_text()
    (tmp_path / "floor.jsonl").write_text(text[: len(text) // 2])  # killed mid-write
    calls.clear()
    assert mod.main(args) == 0
    assert calls == [("http://fake/fp32/v1", 0)]


def test_list_and_quick_selection(script, capsys) -> None:
    mod, _, _ = script
    assert mod.main(["--list", "--quick"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 5 and out[0].startswith("fp32 ")


def test_summary_of_an_earlier_code_digest(script, tmp_path: Path) -> None:
    """--code tabulates only that digest's rows; without it, only the installed code's."""
    mod, _, _ = script
    assert mod.main(["--out", str(tmp_path), "--endpoints", "fp32", "--runs", "2"]) == 0
    rows = [json.loads(x) for x in (tmp_path / "floor.jsonl").read_text().splitlines()]
    old = {**rows[0], "code": "0123456789abcdef", "key": rows[0]["key"] + "-old"}
    with (tmp_path / "floor.jsonl").open("a") as fh:
        fh.write(json.dumps(old) + "\n")
    assert mod.main(["--out", str(tmp_path), "--summary-only"]) == 0
    assert json.loads((tmp_path / "floor.json").read_text())["honest_total"]["runs"] == 2
    assert mod.main(["--out", str(tmp_path), "--summary-only", "--code", "0123456789abcdef"]) == 0
    summary = json.loads((tmp_path / "floor.json").read_text())
    assert summary["honest_total"]["runs"] == 1
    assert summary["meta"]["fingerprint code digest"] == "0123456789abcdef"
    with pytest.raises(SystemExit):
        mod.main(["--out", str(tmp_path), "--code", "0123456789abcdef"])


def test_a_stricter_claim_keeps_its_own_rows_and_counts_lower_precision_as_substitutes(
    script, tmp_path: Path
) -> None:
    mod, calls, _ = script
    args = ["--out", str(tmp_path), "--endpoints", "fp32", "llama.cpp-Q4_K_M", "--runs", "1"]
    assert mod.main(args) == 0
    calls.clear()
    assert mod.main([*args, "--tolerance", "8bit"]) == 0  # the 4bit rows do not count as done
    assert ("tolerance", "8bit") in calls and len([c for c in calls if c[0] != "tolerance"]) == 2
    summary = json.loads((tmp_path / "floor.json").read_text())
    assert summary["meta"]["tolerance (claimed numerics)"] == "8bit"
    assert summary["honest_total"]["runs"] == 1  # fp32 only: the Q4_K_M file is below an 8bit claim
    (power,) = summary["power"]
    assert power["class"] == "quantised below the claimed 8bit" and power["runs"] == 1
    assert mod.main(["--out", str(tmp_path), "--summary-only"]) == 0  # the default claim's table
    summary = json.loads((tmp_path / "floor.json").read_text())
    assert summary["honest_total"]["runs"] == 2 and summary["power"] == []
