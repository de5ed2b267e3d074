"""The audit runner with recorded sections: order, arguments, isolation of failures, exit codes, determinism."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from harness.audit import load_audit, run_audit
from harness.audit.plan import plan_sections
from harness.audit.runner import SERVED_URL_PLACEHOLDER, overall_status
from harness.records.status import exit_code


def _strip_timing(obj: Any) -> Any:
    """The audit record minus everything under a `timing` key (the only part allowed to change)."""
    if isinstance(obj, dict):
        return {k: _strip_timing(v) for k, v in obj.items() if k != "timing"}
    if isinstance(obj, list):
        return [_strip_timing(v) for v in obj]
    return obj


def _run(audit_dir: Path, rec: Any, tmp_path: Path, name: str = "full.toml") -> tuple[dict, Path]:
    return run_audit(
        load_audit(audit_dir / name), out_root=tmp_path / "reports", runners=rec.runners(), progress=False
    )


def test_plan_order_scan_then_weights_then_fingerprint_then_endpoint(audit_dir: Path) -> None:
    plans = plan_sections(load_audit(audit_dir / "full.toml"))
    assert [p.name for p in plans] == ["scan", "verify_weights", "fingerprint", "verify_endpoint"]
    weights, endpoint = plans[1].kwargs, plans[3].kwargs
    assert weights["benchmarks"] == ["gsm8k", "arc_easy"] and weights["limit"] == 20
    assert endpoint["benchmarks"] == ["arc_easy"] and endpoint["limit"] == 10  # [verify.endpoint] overrides
    assert weights["backend"] == "hf" and endpoint["backend"] == "openai-completions"
    assert endpoint["model"] == "smollm2-served" and plans[2].kwargs["model"] == "smollm2-served"
    assert plans[2].kwargs["reference"] == "smollm2" and plans[2].kwargs["budget"] == 50
    # the audit serves the endpoint itself, so it hands verify the served model's tokenizer
    assert endpoint["model_args"] == {"tokenizer": "smollm2"} and weights["model_args"] is None


def test_full_run_calls_sections_in_order_with_scan_feeding_verify(
    audit_dir: Path, recorder: Any, tmp_path: Path
) -> None:
    record, run_dir = _run(audit_dir, recorder, tmp_path)
    names = [c[0] for c in recorder.calls]
    assert names == ["scan", "verify", "serve", "fingerprint", "verify", "serve-stopped"]
    scan_kw, weights_kw, fp_kw, endpoint_kw = (recorder.calls[i][1] for i in (0, 1, 3, 4))
    assert scan_kw["paths"] == [str((audit_dir / "corpus.jsonl").resolve())]
    assert scan_kw["out_dir"] == run_dir / "scan"
    # verify gets the scan's leakage.json for clean-subset scores, for both targets
    assert weights_kw["clean_from"] == run_dir / "scan" / "leakage.json"
    assert endpoint_kw["clean_from"] == run_dir / "scan" / "leakage.json"
    assert weights_kw.get("base_url") is None and weights_kw["model"] == "smollm2"
    # the endpoint is the one the audit served, fingerprinted before it is scored
    assert fp_kw["endpoint"] == endpoint_kw["base_url"] == "http://127.0.0.1:41001/v1"
    assert fp_kw["reference"] == Path("smollm2")
    assert record["sections"].keys() == {"scan", "verify_weights", "fingerprint", "verify_endpoint"}
    assert (run_dir / "audit.json").is_file() and (run_dir / "report.md").is_file()
    assert (run_dir / "report.html").is_file()
    assert json.loads((run_dir / "audit.json").read_text()) == record


def test_sections_are_embedded_verbatim_except_run_paths_and_port(
    audit_dir: Path, recorder: Any, tmp_path: Path, recorded
) -> None:
    record, run_dir = _run(audit_dir, recorder, tmp_path)
    scan = record["sections"]["scan"]
    expected = recorded.scan_record()
    assert scan["items"] == expected["items"] and scan["benchmarks"] == expected["benchmarks"]
    assert scan["config"]["out_dir"] == "./scan"  # run folder written relative to itself
    assert record["sections"]["fingerprint"]["endpoint"] == SERVED_URL_PLACEHOLDER
    assert record["sections"]["verify_endpoint"]["model"]["base_url"] == SERVED_URL_PLACEHOLDER
    assert record["timing"]["served_endpoint"] == "http://127.0.0.1:41001/v1"
    assert record["timing"]["run_id"] == run_dir.name
    assert str(run_dir) not in json.dumps(_strip_timing(record))


def test_rerun_gives_the_same_record_apart_from_timing(
    make_recorder, audit_dir: Path, tmp_path: Path
) -> None:
    first, dir1 = _run(audit_dir, make_recorder(), tmp_path)
    second, dir2 = _run(audit_dir, make_recorder(), tmp_path)
    assert dir1 != dir2  # a second run never overwrites the first
    assert dir1.name.split("-")[1] == dir2.name.split("-")[1] == first["inputs_sha256"][:8]
    assert _strip_timing(first) == _strip_timing(second)
    assert (dir1 / "report.md").read_text().split("## Claimed")[1] == (dir2 / "report.md").read_text().split(
        "## Claimed"
    )[1]


def test_changed_input_changes_inputs_hash(make_recorder, audit_dir: Path, tmp_path: Path) -> None:
    first, _ = _run(audit_dir, make_recorder(), tmp_path)
    (audit_dir / "corpus.jsonl").write_text('{"text": "hello there"}\n')
    second, _ = _run(audit_dir, make_recorder(), tmp_path)
    assert first["inputs_sha256"] != second["inputs_sha256"]
    key = "corpus.jsonl"
    assert (
        first["checksums"]["scan_inputs"][key]["sha256"] != second["checksums"]["scan_inputs"][key]["sha256"]
    )


@pytest.mark.parametrize("failing", ["scan", "verify", "fingerprint"])
def test_a_failing_section_is_recorded_and_the_others_still_run(
    make_recorder, audit_dir: Path, tmp_path: Path, failing: str
) -> None:
    rec = make_recorder(raise_in=failing)
    record, _ = _run(audit_dir, rec, tmp_path)
    # the shared rule (harness.records.status): the other sections' flags stand, so the audit is
    # flagged (exit 1); the headline still says which check could not complete
    assert record["status"] == "flagged" and record["exit_code"] == 1
    assert "could not complete" in record["headline"]
    errored = {k for k, s in record["sections"].items() if s["status"] == "error"}
    expected = {
        "scan": {"scan"},
        "verify": {"verify_weights", "verify_endpoint"},
        "fingerprint": {"fingerprint"},
    }
    assert errored == expected[failing]
    assert len(record["sections"]) == 4
    for name in errored:
        sec = record["sections"][name]
        assert sec["error"].split(":")[0] in ("RuntimeError", "ValueError", "ConnectionError")
        assert "Traceback" in sec["traceback_tail"] and sec["headline"]
    if failing == "scan":  # no leakage.json: verify runs without a clean subset rather than not at all
        assert all("clean_from" not in kw for n, kw in rec.calls if n == "verify")
    if failing == "fingerprint":
        assert "failed" in record["attribution"]["note"]


def test_server_that_will_not_start_fails_only_the_endpoint_sections(
    make_recorder, audit_dir: Path, tmp_path: Path
) -> None:
    rec = make_recorder(serve_fails=True)
    record, _ = _run(audit_dir, rec, tmp_path)
    statuses = {k: s["status"] for k, s in record["sections"].items()}
    assert statuses == {
        "scan": "flagged",
        "verify_weights": "flagged",
        "fingerprint": "error",
        "verify_endpoint": "error",
    }
    assert "could not start the local smollm2 endpoint" in record["sections"]["fingerprint"]["error"]
    assert [c[0] for c in rec.calls].count("serve") == 1  # tried once, not once per section


@pytest.mark.parametrize(
    ("kwargs", "status", "code"),
    [
        ({"verdict": "match", "failing": False, "dirty": False}, "clean", 0),
        ({"verdict": "mismatch", "failing": False, "dirty": False}, "flagged", 1),
        ({"verdict": "match", "failing": True, "dirty": False}, "flagged", 1),
        ({"verdict": "match", "failing": False, "dirty": True}, "flagged", 1),
        ({"verdict": "inconclusive", "failing": False, "dirty": False}, "clean", 0),
    ],
)
def test_status_and_exit_code(
    make_recorder, audit_dir: Path, tmp_path: Path, kwargs: dict, status: str, code: int
) -> None:
    record, _ = _run(audit_dir, make_recorder(**kwargs), tmp_path)
    assert record["status"] == status and record["exit_code"] == code == exit_code(status)


def test_mismatch_is_said_next_to_the_endpoint_scores(make_recorder, audit_dir: Path, tmp_path: Path) -> None:
    record, _ = _run(audit_dir, make_recorder(verdict="mismatch"), tmp_path)
    assert record["attribution"]["fingerprint_verdict"] == "mismatch"
    assert "did NOT match" in record["attribution"]["note"]


def test_sections_combine_by_the_shared_rule() -> None:
    """Changed from "error beats flagged" to the one rule of harness.records.status: a flag is a finding
    that another section failing does not undo; then failed; then unresolved; only all-clean is clean."""
    assert overall_status({"a": {"status": "flagged"}, "b": {"status": "error"}}) == "flagged"
    assert overall_status({"a": {"status": "clean"}, "b": {"status": "error"}}) == "failed"
    assert overall_status({"a": {"status": "flagged"}, "b": {"status": "clean"}}) == "flagged"
    assert overall_status({"a": {"status": "unresolved"}, "b": {"status": "clean"}}) == "unresolved"
    assert overall_status({"a": {"status": "inconclusive"}, "b": {"status": "failed"}}) == "failed"
    assert overall_status({"a": {"status": "leak"}, "b": {"status": "incomplete"}}) == "flagged"
    assert overall_status({"a": {"status": "weird"}}) == "failed"
    assert overall_status({}) == "unresolved"  # nothing was checked
    assert (exit_code("clean"), exit_code("flagged"), exit_code("failed"), exit_code("unresolved")) == (
        0,
        1,
        2,
        3,
    )
    assert exit_code("error") == 2
    # the shared table refuses an unknown word; the audit never hands it one (overall_status classes
    # it as failed above), so an unknown section status still exits 2
    with pytest.raises(ValueError, match="unknown status 'weird'"):
        exit_code("weird")


def test_a_failed_check_alone_fails_the_audit(make_recorder, audit_dir: Path, tmp_path: Path) -> None:
    rec = make_recorder(raise_in="scan", verdict="match", failing=False, dirty=False)
    record, _ = _run(audit_dir, rec, tmp_path)
    assert record["status"] == "failed" and record["exit_code"] == 2


def test_an_unresolved_section_makes_the_audit_unresolved(
    make_recorder, audit_dir: Path, tmp_path: Path
) -> None:
    rec = make_recorder(verdict="match", failing=False, dirty=False)
    original = rec.verify

    def unresolved_verify(**kw):
        out = original(**kw)
        return {**out, "status": "unresolved", "headline": "gsm8k: setting not reproduced"}

    rec.verify = unresolved_verify  # type: ignore[method-assign]
    record, _ = _run(audit_dir, rec, tmp_path)
    assert record["status"] == "unresolved" and record["exit_code"] == 3
    assert "left something unresolved" in record["headline"]


def test_section_returning_no_record_is_an_error(make_recorder, audit_dir: Path, tmp_path: Path) -> None:
    rec = make_recorder()
    rec.scan = lambda paths, **kw: None  # type: ignore[method-assign]
    record, _ = _run(audit_dir, rec, tmp_path)
    assert record["sections"]["scan"]["status"] == "error"
    assert "returned NoneType" in record["sections"]["scan"]["error"]


def test_scan_only_audit_with_url_endpoint_never_serves(make_recorder, tmp_path: Path) -> None:
    d = tmp_path / "a"
    d.mkdir()
    (d / "c.txt").write_text("text")
    (d / "x.toml").write_text(
        '[endpoint]\nurl = "https://api.example/v1"\nmodel = "m"\napi_key_env = "EX_KEY"\n'
        '[fingerprint]\nreference = "ref"\n[scan]\npaths = ["c.txt"]\n'
    )
    rec = make_recorder()
    record, _ = run_audit(
        load_audit(d / "x.toml"), out_root=tmp_path / "r", runners=rec.runners(), progress=False
    )
    assert [c[0] for c in rec.calls] == ["scan", "fingerprint"]
    fp_kw = rec.calls[1][1]
    assert fp_kw["endpoint"] == "https://api.example/v1" and fp_kw["api_key_env"] == "EX_KEY"
    assert record["attribution"] is None  # no endpoint scores, nothing to attribute
