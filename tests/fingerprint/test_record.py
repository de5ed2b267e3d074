"""FingerprintRecord: what `harness fingerprint` writes validates (a verdict and an error record alike), a
record with a key missing, a wrong type or an unknown key is refused with the field named (on write and
on read), and `--json` prints the record alone on stdout."""

from __future__ import annotations

import copy

import orjson
import pytest
from typer.testing import CliRunner

from harness.cli import app
from harness.fingerprint import run_fingerprint
from harness.records.fingerprint import (
    read_fingerprint_record,
    validate_fingerprint_record,
    write_fingerprint_record,
)
from harness.records.io import RecordValidationError, record_dict
from harness.testing.faulty_server import FaultyServer


@pytest.fixture(autouse=True)
def _fast_retries(monkeypatch):
    monkeypatch.setattr("harness.fingerprint.client.DEFAULT_BACKOFF", 0.01)


@pytest.fixture(scope="module")
def verdict_record(tmp_path_factory, tiny_dir):
    """A real run that reaches a verdict (a flaky but working endpoint: retries, then answers)."""
    out = tmp_path_factory.mktemp("fp")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("harness.fingerprint.client.DEFAULT_BACKOFF", 0.01)
        with FaultyServer("flaky") as server:
            rec = run_fingerprint(
                out_dir=out,
                endpoint=server.base_url,
                model="m",
                reference=tiny_dir,
                budget=25,
                progress=False,
            )
    return out / "fingerprint.json", rec


def test_a_written_record_validates_and_reads_back_key_for_key(verdict_record):
    path, rec = verdict_record
    assert rec["verdict"] in ("match", "mismatch", "inconclusive")
    record = read_fingerprint_record(path)
    assert record.schema_ == "harness.fingerprint" and record.schema_version == 2
    assert record.verdict == rec["verdict"] and record.evidence and record.cost.retries == 2
    on_disk = orjson.loads(path.read_bytes())
    assert record_dict(record) == on_disk == orjson.loads(orjson.dumps(rec))
    again = path.parent / "again.json"
    write_fingerprint_record(again, record)
    assert again.read_bytes() == path.read_bytes()


def test_an_error_record_validates(tmp_path, tiny_dir):
    with FaultyServer("html") as server:
        rec = run_fingerprint(
            out_dir=tmp_path,
            endpoint=server.base_url,
            model="m",
            reference=tiny_dir,
            budget=20,
            progress=False,
        )
    record = read_fingerprint_record(tmp_path / "fingerprint.json")
    assert record.status == "error" and record.verdict is None and record.error == rec["error"]
    assert record.evidence == [] and record.weights_relation == "unknown"


def _broken(rec: dict, edit) -> dict:
    data = copy.deepcopy(orjson.loads(orjson.dumps(rec)))
    edit(data)
    return data


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d.pop("headline"), r"headline: Field required"),
        (lambda d: d.pop("cost"), r"cost: Field required"),
        (
            lambda d: d.update(verdict="maybe"),
            r"verdict: Input should be 'match', 'mismatch' or 'inconclusive'",
        ),
        (lambda d: d.update(weights_relation="cousins"), r"weights_relation: .*unknown weights relation"),
        (lambda d: d["evidence"][0].update(e_value="big"), r"evidence\.0\.e_value"),
        (lambda d: d["evidence"][0].pop("kind"), r"evidence\.0\.kind: Field required"),
        (
            lambda d: d["cost"].update(requests=-1),
            r"cost\.requests: Input should be greater than or equal to 0",
        ),
        (lambda d: d["settings"].update(tolerance="3bit"), r"settings\.tolerance"),
        (lambda d: d.update(surprise=1), r"surprise: Extra inputs are not permitted"),
        (lambda d: d.update(status="fine"), r"status: .*unknown status 'fine'"),
        (lambda d: d.pop("p_family"), r"a record with a verdict needs p_family"),
    ],
)
def test_a_broken_record_is_refused_naming_the_field(verdict_record, tmp_path, edit, message):
    _, rec = verdict_record
    data = _broken(rec, edit)
    with pytest.raises(RecordValidationError, match=message):
        validate_fingerprint_record(data)
    with pytest.raises(RecordValidationError, match=message):  # on write, and nothing is written
        write_fingerprint_record(tmp_path / "fingerprint.json", data)
    assert not (tmp_path / "fingerprint.json").exists()
    bad = tmp_path / "bad.json"  # on read
    bad.write_bytes(orjson.dumps(data))
    with pytest.raises(RecordValidationError, match=str(bad).replace(".", r"\.")):
        read_fingerprint_record(bad)


def test_json_prints_the_record_alone(tmp_path, tiny_dir):
    with FaultyServer("flaky") as server:
        res = CliRunner().invoke(
            app,
            ["fingerprint", "--endpoint", server.base_url, "--model", "m", "--reference", str(tiny_dir),
             "--out", str(tmp_path), "--budget", "25", "--json"],
        )  # fmt: skip
    on_disk = orjson.loads((tmp_path / "fingerprint.json").read_bytes())
    assert (
        res.exit_code in (0, 1, 3)
        and res.exit_code == {"clean": 0, "flagged": 1, "unresolved": 3}[on_disk["status"]]
    )
    assert orjson.loads(res.stdout) == on_disk  # the record alone: no table, no progress bar
    with FaultyServer("html") as server:
        err = CliRunner().invoke(
            app,
            ["fingerprint", "--endpoint", server.base_url, "--model", "m", "--reference", str(tiny_dir),
             "--out", str(tmp_path / "e"), "--budget", "20", "--no-progress", "--json"],
        )  # fmt: skip
    assert err.exit_code == 2 and orjson.loads(err.stdout)["status"] == "error"
    bad = CliRunner().invoke(
        app,
        ["fingerprint", "--endpoint", "http://127.0.0.1:9/v1", "--model", "m", "--reference",
         str(tmp_path / "missing"), "--out", str(tmp_path / "b"), "--json"],
    )  # fmt: skip
    assert bad.exit_code == 2 and bad.stdout == "" and "does not exist" in " ".join(bad.stderr.split())


def test_every_relation_the_verdict_can_give_validates(verdict_record):
    """The fixed relations and the per-tier ones (a match within a tier, an inconclusive beyond one)."""
    from harness.fingerprint import verdict
    from harness.fingerprint.reference import TIERS

    _, rec = verdict_record
    fixed = [verdict.IDENTICAL, verdict.WITHIN_BAND, verdict.DIFFERENT, verdict.RELAY, verdict.UNKNOWN]
    per_tier = [f"same weights within {t} numerics" for t in TIERS]
    per_tier += [f"quantised or changed weights (beyond {t} numerics)" for t in TIERS]
    for relation in fixed + per_tier:
        validate_fingerprint_record(_broken(rec, lambda d, r=relation: d.update(weights_relation=r)))


def test_in_an_audit_the_section_is_validated_as_a_fingerprint_record(verdict_record, tmp_path):
    """The audit's fingerprint section is this record, checked field by field (harness.records.audit)."""
    from harness.audit import load_audit, run_audit
    from harness.records.audit import validate_audit_record
    from harness.records.fingerprint import FingerprintRecord
    from tests.audit.conftest import FULL_AUDIT, Recorder

    _, rec = verdict_record
    recorder = Recorder()
    recorder.fingerprint = lambda **kw: copy.deepcopy(rec)  # the real record, as the section returns it
    (tmp_path / "corpus.jsonl").write_text('{"text": "hello world"}\n', encoding="utf-8")
    (tmp_path / "full.toml").write_text(FULL_AUDIT, encoding="utf-8")
    audit, _ = run_audit(
        load_audit(tmp_path / "full.toml"),
        out_root=tmp_path / "reports",
        runners=recorder.runners(),
        progress=False,
        render=False,
    )
    model = validate_audit_record(audit)
    assert isinstance(model.sections["fingerprint"], FingerprintRecord)
    assert record_dict(model)["sections"]["fingerprint"] == orjson.loads(orjson.dumps(rec))
    broken = copy.deepcopy(audit)
    del broken["sections"]["fingerprint"]["cost"]
    with pytest.raises(RecordValidationError, match=r"sections\.fingerprint.*cost"):
        validate_audit_record(broken)
