"""AuditRecord: what `harness audit` writes validates and reads back key for key; a record with a key
missing, a wrong type, an unplanned section or an inconsistent status is refused with the field named,
and a verify section is checked as a VerifyRecord."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from harness.audit import load_audit, run_audit
from harness.records.audit import (
    AuditRecord,
    ErrorSection,
    read_audit_record,
    validate_audit_record,
    write_audit_record,
)
from harness.records.io import RecordValidationError, record_dict
from harness.records.verify import VerifyRecord
from harness.verify.runner import run_verify
from tests.audit.conftest import FULL_AUDIT, Recorder


@pytest.fixture
def written(tmp_path: Path) -> tuple[dict, Path]:
    """An audit run with recorded sections (tests/audit/conftest.py), one of which raised."""
    (tmp_path / "corpus.jsonl").write_text('{"text": "hello world"}\n', encoding="utf-8")
    (tmp_path / "full.toml").write_text(FULL_AUDIT, encoding="utf-8")
    record, run_dir = run_audit(
        load_audit(tmp_path / "full.toml"),
        out_root=tmp_path / "reports",
        runners=Recorder(raise_in="fingerprint").runners(),
        progress=False,
        render=False,
    )
    return record, run_dir / "audit.json"


def test_a_written_record_validates_and_reads_back_key_for_key(written: tuple[dict, Path]) -> None:
    record, path = written
    model = read_audit_record(path)
    assert isinstance(model, AuditRecord) and model.schema_ == "harness.audit"
    assert isinstance(model.sections["fingerprint"], ErrorSection)  # it raised
    assert model.sections["fingerprint"].error == "ConnectionError: endpoint returned HTML"
    on_disk = json.loads(path.read_text(encoding="utf-8"))
    assert record_dict(model) == on_disk == record
    assert list(on_disk["sections"]) == ["scan", "verify_weights", "fingerprint", "verify_endpoint"]
    again = path.with_name("again.json")
    write_audit_record(again, model)
    assert json.loads(again.read_text(encoding="utf-8")) == on_disk


def _broken(record: dict, edit) -> dict:
    data = copy.deepcopy(record)
    edit(data)
    return data


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d.pop("inputs_sha256"), r"inputs_sha256: Field required"),
        (lambda d: d["timing"].pop("run_id"), r"timing\.run_id: Field required"),
        (lambda d: d.update(exit_code="1"), r"exit_code: Input should be a valid integer"),
        (lambda d: d["plan"][0].pop("arguments"), r"plan\.0\.arguments: Field required"),
        (lambda d: d.update(surprise=1), r"surprise: Extra inputs are not permitted"),
        (lambda d: d["sections"]["scan"].pop("status"), r"sections\.scan.*status: Field required"),
        (
            lambda d: d["sections"]["fingerprint"].pop("error"),
            r"sections\.fingerprint.*error: Field required",
        ),
        (lambda d: d.update(status="clean", exit_code=0), r"the sections combine to 'flagged'"),
        (lambda d: d.update(exit_code=0), r"exit_code 0 does not match status 'flagged'"),
        (lambda d: d["plan"].pop(0), r"sections \['scan'\] are not in the plan"),
        (
            lambda d: d["checksums"].update(audit_file=None),
            r"checksums\.audit_file: Input should be a valid string",
        ),
    ],
)
def test_a_broken_record_is_refused_naming_the_field(
    written: tuple[dict, Path], edit, message: str, tmp_path: Path
) -> None:
    record, _ = written
    bad = _broken(record, edit)
    with pytest.raises(RecordValidationError, match=r"not a valid AuditRecord: .*" + message):
        write_audit_record(tmp_path / "audit.json", bad)
    assert not (tmp_path / "audit.json").exists()  # nothing half-valid is left behind
    (tmp_path / "bad.json").write_text(json.dumps(bad), encoding="utf-8")
    with pytest.raises(RecordValidationError, match=r"bad\.json: not a valid AuditRecord"):
        read_audit_record(tmp_path / "bad.json")


@pytest.fixture(scope="module")
def verify_json(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A real verify record (plausibility only: no model, a second)."""
    out = tmp_path_factory.mktemp("verify")
    return run_verify(out_dir=out, claims={"gsm8k": {"value": 99.2}}, plausibility_only=True)


def test_a_verify_section_is_validated_as_a_verify_record(
    written: tuple[dict, Path], verify_json: dict
) -> None:
    record, _ = written
    data = copy.deepcopy(record)
    data["sections"]["verify_weights"] = json.loads(json.dumps(verify_json))
    data["status"], data["exit_code"] = "flagged", 1
    model = validate_audit_record(data)
    assert isinstance(model.sections["verify_weights"], VerifyRecord)
    assert record_dict(model)["sections"]["verify_weights"] == data["sections"]["verify_weights"]
    data["sections"]["verify_weights"]["benchmarks"]["gsm8k"].pop("ceiling_test")
    with pytest.raises(
        RecordValidationError, match=r"sections\.verify_weights.*benchmarks\.gsm8k\.ceiling_test"
    ):
        validate_audit_record(data)


def test_a_scan_section_is_validated_as_a_scan_record(written: tuple[dict, Path], tmp_path: Path) -> None:
    """A real scan's record (one tiny corpus) in an audit is checked as a ScanRecord, field by field."""
    from harness.leakage.scan import run_scan
    from harness.records.scan import ScanRecord

    (tmp_path / "c.jsonl").write_text('{"text": "nothing from any test set here"}\n', encoding="utf-8")
    scan = run_scan([str(tmp_path / "c.jsonl")], out_dir=tmp_path / "scan", benchmarks=["gsm8k"])
    record, _ = written
    data = copy.deepcopy(record)
    data["sections"]["scan"] = json.loads(json.dumps(scan))
    model = validate_audit_record(data)
    assert isinstance(model.sections["scan"], ScanRecord)
    assert record_dict(model)["sections"]["scan"] == data["sections"]["scan"]
    del data["sections"]["scan"]["completeness"]
    with pytest.raises(RecordValidationError, match=r"sections\.scan.*completeness"):
        validate_audit_record(data)
