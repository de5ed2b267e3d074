"""A real audit end to end, through the CLI: the real SmolLM2 scored on a few items, the endpoint the audit
serves fingerprinted and scored, and the demo corpus scanned. The recorded-runner tests cover the logic;
this one proves the capabilities fit together as `harness audit` calls them."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from harness.cli import app

pytestmark = pytest.mark.slow

DEMO_CORPUS = Path(__file__).resolve().parents[2] / "audits" / "demo" / "corpus.jsonl.zst"

AUDIT = """
[audit]
name = "e2e"
description = "small real audit"

[model]
path = "smollm2"

[endpoint]
serve = "smollm2"
model = "smollm2-e2e"

[claims.arc_easy]
value = 99.0
metric = "acc_norm"
source = "inflated on purpose <script>alert(1)</script>"

[verify]
sample = 6
seed = 3

[fingerprint]
reference = "smollm2"
budget = 80

[scan]
paths = ["corpus.jsonl.zst"]
benchmarks = ["gsm8k", "arc_challenge"]
"""


def test_real_audit_runs_every_section_and_reports(tmp_path: Path, smollm2_dir: Path) -> None:
    audits = tmp_path / "audits"
    audits.mkdir()
    shutil.copy(DEMO_CORPUS, audits / "corpus.jsonl.zst")
    (audits / "e2e.toml").write_text(AUDIT, encoding="utf-8")

    result = CliRunner().invoke(
        app, ["audit", str(audits / "e2e.toml"), "--out", str(tmp_path / "reports"), "--no-progress"]
    )
    assert result.exit_code == 1, result.output  # the inflated claim fails and the corpus leaks
    (run_dir,) = (tmp_path / "reports" / "e2e").iterdir()
    audit = json.loads((run_dir / "audit.json").read_text())
    sections = audit["sections"]
    assert list(sections) == ["scan", "verify_weights", "fingerprint", "verify_endpoint"]
    assert all(s["status"] in ("clean", "flagged", "leak") for s in sections.values()), {
        k: s.get("error") for k, s in sections.items()
    }

    scan = sections["scan"]
    dirty = {i["item_id"] for i in scan["items"] if i["dirty"]}
    assert {"gsm8k/test/42", "gsm8k/test/1000", "arc_challenge/test/7"} <= dirty  # planted in the demo corpus

    assert sections["fingerprint"]["verdict"] == "match"  # the audit served the reference itself
    assert audit["attribution"]["fingerprint_verdict"] == "match"

    weights = sections["verify_weights"]["benchmarks"]["arc_easy"]
    endpoint = sections["verify_endpoint"]["benchmarks"]["arc_easy"]
    assert weights["verdict"]["label"] == endpoint["verdict"]["label"] == "below claim"
    # the same weights, through the endpoint and locally, on the same seeded sample: the same score
    assert weights["measurement"]["n"] == endpoint["measurement"]["n"] == 6
    assert weights["measurement"]["score"] == endpoint["measurement"]["score"]
    assert weights["contamination"] is not None  # the scan fed verify its leakage.json

    html = (run_dir / "report.html").read_text()
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert (run_dir / "report.md").read_text().startswith("# Audit: e2e")
