"""ContaminationRecord: what `harness contamination` writes validates, a record with a key missing, a wrong
type or an unknown key is refused with the field named (on write and on read), and `--json` prints the
record alone on stdout."""

from __future__ import annotations

import copy
from typing import Any

import orjson
import pytest
from typer.testing import CliRunner

from harness.cli import app
from harness.contamination.runner import Subject, run_contamination
from harness.records.contamination import (
    read_contamination_record,
    validate_contamination_record,
    write_contamination_record,
)
from harness.records.io import RecordValidationError, record_dict


@pytest.fixture(scope="module")
def written(tmp_path_factory) -> tuple:
    """A real run on a fake model (GSM8K with its control split, MMLU by option order)."""
    from tests.contamination.conftest import MemorisingProbe

    out = tmp_path_factory.mktemp("contam")
    rec = run_contamination(
        model="fake",
        backend="hf",
        out_dir=out,
        subjects=(Subject(lm=None, probe=MemorisingProbe(), spec=None, chat=False), None),
        progress=False,
        tests=["likelihood", "completion"],
        sample=20,
        seed=7,
        benchmarks=["gsm8k", "mmlu"],
    )
    return out / "contamination.json", rec


def test_a_written_record_validates_and_reads_back_key_for_key(written):
    path, rec = written
    record = read_contamination_record(path)
    assert record.schema_ == "harness.contamination" and record.schema_version == 1
    assert set(record.benchmarks) == {"gsm8k", "mmlu"}
    assert record.benchmarks["gsm8k"].calibration == "control"
    assert record.benchmarks["mmlu"].calibration == "option order"
    assert record.benchmarks["gsm8k"].verdict in ("no evidence", "inconclusive", "contaminated")
    on_disk = orjson.loads(path.read_bytes())
    assert record_dict(record) == on_disk
    assert on_disk["benchmarks"]["gsm8k"]["top_items"] == rec["benchmarks"]["gsm8k"]["top_items"]
    again = path.parent / "again.json"
    write_contamination_record(again, record)
    assert again.read_bytes() == path.read_bytes()


def _broken(path, edit) -> dict:
    data = copy.deepcopy(orjson.loads(path.read_bytes()))
    edit(data)
    return data


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d.pop("headline"), r"headline: Field required"),
        (
            lambda d: d["benchmarks"]["gsm8k"].update(verdict="dirty"),
            r"benchmarks\.gsm8k\.verdict: Input should be 'contaminated', 'no evidence' or 'inconclusive'",
        ),
        (lambda d: d["benchmarks"]["mmlu"].pop("top_items"), r"benchmarks\.mmlu\.top_items: Field required"),
        (lambda d: d["benchmarks"]["mmlu"].update(p_value="0.5"), r"benchmarks\.mmlu\.p_value"),
        (lambda d: d["benchmarks"]["mmlu"]["twins"].pop("left_out"), r"benchmarks\.mmlu\.twins\.left_out"),
        (lambda d: d["settings"].update(tests=["magic"]), r"settings\.tests\.0"),
        (lambda d: d["benchmarks"].pop("mmlu"), r"do not match settings\.benchmarks"),
        (
            lambda d: d["benchmarks"]["gsm8k"]["verdict_detail"].update(label="contaminated"),
            r"verdict_detail\.label",
        ),
        (lambda d: d.update(surprise=1), r"surprise: Extra inputs are not permitted"),
    ],
)
def test_a_broken_record_is_refused_naming_the_field(written, tmp_path, edit, message):
    path, _ = written
    data = _broken(path, edit)
    with pytest.raises(RecordValidationError, match=message):
        validate_contamination_record(data)
    with pytest.raises(RecordValidationError, match=message):
        write_contamination_record(tmp_path / "contamination.json", data)
    assert not (tmp_path / "contamination.json").exists()
    bad = tmp_path / "bad.json"
    bad.write_bytes(orjson.dumps(data))
    with pytest.raises(RecordValidationError, match=str(bad).replace(".", r"\.")):
        read_contamination_record(bad)


def test_json_prints_the_record_alone(monkeypatch, tmp_path, written):
    path, _ = written
    record: dict[str, Any] = orjson.loads(path.read_bytes())

    def fake(**kw: Any) -> dict:
        print("a library writing to stdout")  # must land on stderr under --json
        return record

    monkeypatch.setattr("harness.contamination.runner.run_contamination", fake)
    res = CliRunner().invoke(
        app, ["contamination", "--model", "m", "--backend", "hf", "--out", str(tmp_path), "--json"]
    )
    expected = {"clean": 0, "flagged": 1, "unresolved": 3}[record["status"]]
    assert res.exit_code == expected, res.output
    assert orjson.loads(res.stdout) == record
    assert "a library writing to stdout" in res.stderr
    monkeypatch.undo()
    bad = CliRunner().invoke(
        app, ["contamination", "--model", "m", "--backend", "nope", "--out", str(tmp_path), "--json"]
    )
    assert bad.exit_code == 2 and bad.stdout == "" and "unknown backend" in bad.stderr
