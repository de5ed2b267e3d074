"""The audit's model-side contamination section: config, plan, status and exit code, and its report part."""

from __future__ import annotations

import copy
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


@pytest.fixture(scope="module")
def real_record(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A real contamination record (a fake model that memorised eight GSM8K items; MMLU by option
    order), so the audit validates the section as the ContaminationRecord it is."""
    from harness.contamination.runner import Subject, run_contamination, select_rows
    from harness.contamination.twins import make_twins
    from harness.data import load_benchmark
    from tests.contamination.conftest import MemorisingProbe

    bs = load_benchmark("gsm8k")
    seen = select_rows(make_twins(bs, seed=7, k=1).rows, 20, 7, "gsm8k")[:8]
    probe = MemorisingProbe(
        seen=[bs.rows[r]["question"] + "\nAnswer: " + bs.rows[r]["answer"] for r in seen],
        seen_questions=[bs.rows[r]["question"] for r in seen],
    )
    return run_contamination(
        model="fake",
        backend="hf",
        out_dir=tmp_path_factory.mktemp("contam"),
        subjects=(Subject(lm=None, probe=probe, spec=None, chat=False), None),
        progress=False,
        tests=["likelihood", "completion"],
        sample={"default": 40, "gsm8k": 20},
        twins=1,
        seed=7,
        benchmarks=["gsm8k", "mmlu"],
    )


def contamination_record(real: dict[str, Any], verdict: str = "contaminated") -> dict[str, Any]:
    """The real record with the GSM8K verdict set to ``verdict``, accuracy figures added (as the score
    test writes them) and untrusted text planted where the report shows it."""
    status = {"contaminated": "flagged", "no evidence": "clean", "inconclusive": "unresolved"}[verdict]
    rec = copy.deepcopy(real)
    rec["status"] = status
    rec["headline"] = f"gsm8k: {verdict} (p=0.0001, inflation 31.0 points)."
    g = rec["benchmarks"]["gsm8k"]
    assert g["verdict"] == "contaminated", g["verdict_detail"]  # the real run found the memorised items
    g["verdict"] = g["verdict_detail"]["label"] = verdict
    g["verdict_detail"]["reasons"].append("p below alpha " + INJECTED)
    g["top_items"].append("gsm8k/test/7" + INJECTED)
    g["scores"] = {"original": 0.45, "twins": 0.1, "drop": 0.35, "drop_ci": [0.2, 0.5]}
    rec["benchmarks"]["mmlu"]["verdict"] = rec["benchmarks"]["mmlu"]["verdict_detail"]["label"] = (
        "no evidence"
    )
    return rec


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
def test_audit_status_and_report(
    tmp_path: Path, real_record: dict[str, Any], verdict: str, status: str, code: int
) -> None:
    calls: list[dict] = []

    def fake(**kw: Any) -> dict:
        calls.append(kw)
        return contamination_record(real_record, verdict)

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
