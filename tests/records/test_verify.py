"""VerifyRecord: what `harness verify` writes validates, and a record with a key missing, a wrong type
or an unknown key is refused with the field named (on write and on read)."""

from __future__ import annotations

import copy
from pathlib import Path

import orjson
import pytest

from harness.records.io import RecordValidationError, record_dict
from harness.records.verify import read_verify_record, validate_verify_record, write_verify_record
from harness.verify.runner import run_verify

CLAIMS = {
    "model": "a launch post",
    "gsm8k": {"value": 99.9, "source": "https://example.org", "chain_of_thought": True, "n_shot": 8},
    "mmlu": {"value": 89.9},
    "hellaswag": {"value": 80},
}


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """A real record, as `harness verify --plausibility-only` writes it (no model: a second)."""
    out = tmp_path_factory.mktemp("verify")
    report = run_verify(out_dir=out, claims=CLAIMS, plausibility_only=True)
    return out / "verify.json", report


def test_a_written_record_validates_and_reads_back_key_for_key(written):
    path, report = written
    record = read_verify_record(path)
    assert record.schema_ == "harness.verify" and record.schema_version == 2
    assert record.benchmarks["gsm8k"].verdict is not None
    assert record.benchmarks["gsm8k"].verdict.label == "implausible"
    assert record.benchmarks["hellaswag"].ceiling is None and record.benchmarks["hellaswag"].ceiling_note
    on_disk = orjson.loads(path.read_bytes())
    assert record_dict(record) == on_disk == orjson.loads(orjson.dumps(report))
    # written again through the model, the bytes do not change
    again = path.parent / "again.json"
    write_verify_record(again, record)
    assert again.read_bytes() == path.read_bytes()


def _broken(report: dict, edit) -> dict:
    data = copy.deepcopy(orjson.loads(orjson.dumps(report)))
    edit(data)
    return data


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d.pop("headline"), r"headline: Field required"),
        (
            lambda d: d["benchmarks"]["gsm8k"].pop("ceiling_test"),
            r"benchmarks\.gsm8k\.ceiling_test: Field required",
        ),
        (
            lambda d: d["benchmarks"]["mmlu"]["ceiling"].update(value="high"),
            r"benchmarks\.mmlu\.ceiling\.value: Input should be a valid number$",
        ),
        (
            lambda d: d["benchmarks"]["gsm8k"]["ceiling_test"].update(p_value=1.5),
            r"benchmarks\.gsm8k\.ceiling_test\.p_value: Input should be less than or equal to 1$",
        ),
        (
            lambda d: d["benchmarks"]["gsm8k"]["verdict"].update(label="probably fine"),
            r"benchmarks\.gsm8k\.verdict\.label: Input should be 'reproduced'",
        ),
        (lambda d: d.update(status="leak"), r"status: Input should be 'clean'"),
        (lambda d: d.update(data_source={}), r"data_source: Extra inputs are not permitted"),
        (lambda d: d["settings"].update(seed="1234"), r"settings\.seed: Input should be a valid integer"),
        (lambda d: d["claims"]["claims"][0].update(value=120.0), r"claims\.claims\.0\.value"),
        (lambda d: d.update(mode="measured"), r"mode 'measured' with no model"),
        (lambda d: d["benchmarks"].pop("mmlu"), r"do not match settings\.benchmarks"),
        (lambda d: d["benchmarks"]["hellaswag"].update(ceiling_note=None), r"exactly one of 'ceiling'"),
        (lambda d: d["timing"].pop("started_at"), r"timing\.started_at: Field required"),
    ],
)
def test_a_bad_record_names_the_field(written, edit, message):
    _, report = written
    with pytest.raises(RecordValidationError, match=message):
        validate_verify_record(_broken(report, edit))


def test_bad_records_are_refused_on_write_and_on_read(written, tmp_path):
    _, report = written
    bad = _broken(report, lambda d: d["benchmarks"]["gsm8k"]["claim"].update(decimals="one"))
    target = tmp_path / "verify.json"
    with pytest.raises(RecordValidationError, match=r"verify\.json: not a valid VerifyRecord: .*decimals"):
        write_verify_record(target, bad)
    assert not target.exists()  # nothing half-written
    target.write_bytes(orjson.dumps(bad))
    with pytest.raises(RecordValidationError, match=rf"{target}: .*benchmarks\.gsm8k\.claim\.decimals"):
        read_verify_record(target)
    with pytest.raises(ValueError, match="not valid JSON"):
        (tmp_path / "junk.json").write_text("{")
        read_verify_record(tmp_path / "junk.json")


def test_integers_stay_integers(written):
    """JSON numbers keep their form through the model: a claim of 80 is not rewritten as 80.0."""
    _, report = written
    data = _broken(report, lambda d: d["benchmarks"]["hellaswag"]["claim"].update(value=80))
    out = record_dict(validate_verify_record(data))
    assert out["benchmarks"]["hellaswag"]["claim"]["value"] == 80
    assert isinstance(out["benchmarks"]["hellaswag"]["claim"]["value"], int)
