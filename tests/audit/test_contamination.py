"""The audit's model-side contamination section: config, plan, status and exit code, and its report part."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from harness.audit import SectionRunners, load_audit, run_audit
from harness.audit.config import AuditConfigError
from harness.audit.plan import plan_sections
from harness.audit.runner import overall_status
from harness.records.status import exit_code
from harness.report.render import render_html, render_markdown

INJECTED = "<script>document.title='PWNED'</script>"

AUDIT = """
[audit]
name = "contam"
[model]
path = "smollm2"
[contamination]
benchmarks = ["gsm8k", "mmlu"]
sample = { default = 40, gsm8k = 20 }
twins = 1
reference = "smollm2"
tests = ["scores", "likelihood"]
max_gen_toks = 64
"""


def contamination_record(verdict: str = "contaminated") -> dict[str, Any]:
    status = {"contaminated": "flagged", "no evidence": "clean", "inconclusive": "unresolved"}[verdict]
    return {
        "schema": "harness.contamination",
        "schema_version": 1,
        "status": status,
        "headline": f"gsm8k: {verdict} (p=0.0001, inflation 31.0 points).",
        "benchmarks": {
            "gsm8k": {
                "verdict": verdict,
                "calibration": "reference",
                "sample": {"requested": 20, "tested": 20},
                "scores": {"original": 0.45, "twins": 0.1, "drop": 0.35, "drop_ci": [0.2, 0.5]},
                "inflation": {"points": 31.0, "ci_points": [15.0, 47.0], "calibrated_by": "reference"},
                "p_value": 0.0001,
                "verdict_detail": {"label": verdict, "reasons": ["p below alpha " + INJECTED]},
                "top_items": ["gsm8k/test/12", "gsm8k/test/7" + INJECTED],
            },
            "mmlu": {
                "verdict": "no evidence",
                "calibration": "option order",
                "sample": {"tested": 40},
                "p_value": 0.4,
            },
        },
    }


def _audit(tmp_path: Path, text: str = AUDIT) -> Path:
    path = tmp_path / "a.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_plan_runs_contamination_on_the_weights_last(tmp_path: Path) -> None:
    plans = plan_sections(load_audit(_audit(tmp_path)))
    assert [p.name for p in plans] == ["contamination"]
    kw = plans[0].kwargs
    assert kw["model"] == "smollm2" and kw["backend"] == "hf" and kw["reference"] == "smollm2"
    assert kw["sample"] == {"default": 40, "gsm8k": 20} and kw["twins"] == 1
    assert kw["gen_kwargs"] == {"max_gen_toks": 64} and kw["tests"] == ["scores", "likelihood"]
    assert not plans[0].needs_endpoint


def test_endpoint_target_needs_an_endpoint(tmp_path: Path) -> None:
    with pytest.raises(AuditConfigError, match=r"\[contamination\].*endpoint"):
        load_audit(_audit(tmp_path, AUDIT.replace("[contamination]", '[contamination]\ntarget = "endpoint"')))
    with pytest.raises(AuditConfigError, match="twins"):
        load_audit(_audit(tmp_path, AUDIT.replace("twins = 1", "twins = 0")))


@pytest.mark.parametrize(
    ("verdict", "status", "code"),
    [("contaminated", "flagged", 1), ("no evidence", "clean", 0), ("inconclusive", "unresolved", 3)],
)
def test_audit_status_and_report(tmp_path: Path, verdict: str, status: str, code: int) -> None:
    calls: list[dict] = []

    def fake(**kw: Any) -> dict:
        calls.append(kw)
        return contamination_record(verdict)

    record, run_dir = run_audit(
        load_audit(_audit(tmp_path)),
        out_root=tmp_path / "reports",
        runners=SectionRunners(contamination=fake),
        progress=False,
    )
    assert calls[0]["out_dir"] == run_dir / "contamination"
    assert record["status"] == status and record["exit_code"] == code == exit_code(status)
    md = (run_dir / "report.md").read_text()
    assert "published items vs fresh twins" in md and verdict in md
    assert "<script>" not in md
    html = (run_dir / "report.html").read_text()
    assert 'id="model-contamination"' in html and "<script>" not in html
    assert "data:image/svg+xml;base64," in html  # the originals-vs-twins figure
    assert json.loads((run_dir / "audit.json").read_text())["sections"]["contamination"]["status"] == status


def test_unresolved_never_hides_a_flag_or_an_error() -> None:
    assert overall_status({"a": {"status": "unresolved"}, "b": {"status": "clean"}}) == "unresolved"
    assert overall_status({"a": {"status": "unresolved"}, "b": {"status": "flagged"}}) == "flagged"
    # a section that raised is recorded as "error", which the shared table classes as failed
    assert overall_status({"a": {"status": "unresolved"}, "b": {"status": "error"}}) == "failed"


def test_report_renders_without_scores() -> None:
    audit = {
        "status": "clean",
        "sections": {
            "contamination": {"status": "clean", "benchmarks": {"hellaswag": {"verdict": "no evidence"}}}
        },
    }
    assert "hellaswag" in render_markdown(audit)
    assert "hellaswag" in render_html(audit)
