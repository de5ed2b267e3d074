"""``ScanRecord``: leakage.json as the scan writes it validates, reads back key for key, and a record that
lacks a key or holds a wrong type is refused with the field named, on write and on read."""

from __future__ import annotations

import copy

import orjson
import pytest

from harness.leakage import run_scan
from harness.leakage.engines import LocalEngine
from harness.leakage.index import load_index
from harness.records.io import RecordValidationError, record_dict
from harness.records.scan import ScanRecord, read_scan_record, validate_scan_record, write_scan_record
from tests.leakage.corpora import FILLER, page, real_sets, write_jsonl


@pytest.fixture(scope="module")
def scanned(tmp_path_factory):
    """A real scan with every optional part: a leak, a skipped record, --profile and --rephrased."""
    root = tmp_path_factory.mktemp("scanrec")
    gsm = real_sets()["gsm8k"].items
    records = [{"text": page(FILLER)} for _ in range(5)]
    records[2]["text"] = page("Q: " + gsm[5].question + " A: " + gsm[5].answer)
    write_jsonl(root / "corpus" / "web.jsonl", records)
    (root / "corpus" / "bad.jsonl").write_bytes(b'{"text": "fine"}\n{not json\n')
    out = root / "out"
    index = load_index(["gsm8k"])
    record = run_scan(
        [root / "corpus"],
        out_dir=out,
        index=index,
        benchmarks=["gsm8k"],
        engine=LocalEngine(1),
        profile=True,
        rephrased=True,
    )
    return record, out / "leakage.json"


def test_a_written_record_validates_and_reads_back_key_for_key(scanned):
    record, path = scanned
    assert record["schema"] == "harness.scan" and record["schema_version"] == 1
    assert record["status"] == "leak"
    model = read_scan_record(path)
    assert isinstance(model, ScanRecord)
    on_disk = orjson.loads(path.read_bytes())
    assert record_dict(model) == on_disk == orjson.loads(orjson.dumps(record))
    assert model.profile is not None and model.rephrased is not None
    assert model.items is not None and model.items[0].where is not None
    assert model.accounting is not None and model.accounting.records_skipped == 1


def _drop(key):
    def edit(r):
        del r[key]

    return edit


def _set(path, value):
    def edit(r):
        target = r
        for p in path[:-1]:
            target = target[p]
        target[path[-1]] = value

    return edit


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (_drop("schema"), r"schema: Field required"),
        (_drop("completeness"), r"lacks \['completeness'\]"),
        (_drop("profile"), r"profile: present exactly when"),
        (
            _set(("benchmarks", "gsm8k", "dirty"), "one"),
            r"benchmarks\.gsm8k\.dirty: Input should be a valid integer",
        ),
        (_set(("items", 0, "overlap"), 1.5), r"items\.0\.overlap: Input should be less than or equal to 1"),
        (_set(("items", 0, "surprise"), 1), r"items\.0\.surprise: Extra inputs are not permitted"),
        (_set(("status",), "CLEAN"), r"status: Input should be"),
        (_set(("accounting", "per_file", 0, "bytes"), -1), r"accounting\.per_file\.0\.bytes"),
        (_set(("timing", "seconds"), "2s"), r"timing"),
        (_set(("config", "benchmarks"), ["gsm8k", "mmlu"]), r"do not match config\.benchmarks"),
    ],
)
def test_a_bad_record_names_the_field(scanned, edit, message):
    bad = copy.deepcopy(scanned[0])
    edit(bad)
    with pytest.raises(RecordValidationError, match=message):
        validate_scan_record(bad)


def test_bad_records_are_refused_on_write_and_on_read(scanned, tmp_path):
    bad = copy.deepcopy(scanned[0])
    bad["accounting"]["records_read"] = "many"
    target = tmp_path / "leakage.json"
    with pytest.raises(RecordValidationError, match=r"leakage\.json: not a valid ScanRecord: .*records_read"):
        write_scan_record(target, bad)
    assert not target.exists()  # nothing half-written
    target.write_bytes(orjson.dumps(bad))
    with pytest.raises(RecordValidationError, match=r"accounting\.records_read"):
        read_scan_record(target)


def test_a_failed_scan_writes_a_valid_short_record(tmp_path):
    out = tmp_path / "o"
    with pytest.raises(Exception, match="no such file"):
        run_scan([tmp_path / "nope.jsonl"], out_dir=out, benchmarks=["gsm8k"])
    model = read_scan_record(out / "leakage.json")
    assert model.status == "failed" and model.error and model.timing == {}
    assert model.items is None and model.config.paths == [str(tmp_path / "nope.jsonl")]
    data = record_dict(model)
    del data["error"]
    with pytest.raises(RecordValidationError, match="says why"):
        validate_scan_record(data)


def test_integers_stay_integers(scanned):
    path = scanned[1]
    again = record_dict(read_scan_record(path))
    assert isinstance(again["accounting"]["bytes_read"], int)
    assert isinstance(again["config"]["max_skipped"], float)
    assert again["execution"]["workers"] == 1
