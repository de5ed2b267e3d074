"""Bad input: one clear error naming file, line and field; nothing half-imported."""

from __future__ import annotations

import bz2
import gzip
import json
from pathlib import Path

import pytest

from harness.data import DataError, load_benchmark
from harness.data.store import import_copy
from harness.paths import data_store_dir
from tests.data.hub_rows import ARC_HUB_ROWS, write_jsonl


def _gsm8k_rows(shared: Path, n: int) -> list[str]:
    return (shared / "gsm8k" / "test.jsonl").read_text().splitlines()[:n]


def test_missing_field_names_file_line_and_field(tmp_path, shared_benchmarks):
    lines = _gsm8k_rows(shared_benchmarks, 5)
    bad = json.loads(lines[3])
    del bad["answer"]
    lines[3] = json.dumps(bad)
    path = tmp_path / "test.jsonl"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError) as err:
        load_benchmark("gsm8k", "test", path, allow_partial=True)
    assert (err.value.path, err.value.line, err.value.field) == (str(path), 4, "answer")
    assert f"{path}, line 4, field 'answer': missing required field" == str(err.value)


def test_wrong_type_is_named(tmp_path):
    rows = [dict(ARC_HUB_ROWS[0]), {**ARC_HUB_ROWS[1], "answerKey": 4}]
    path = write_jsonl(tmp_path / "arc.jsonl", rows)
    with pytest.raises(DataError, match=r"line 2, field 'answerKey': expected str, got int"):
        load_benchmark("arc_challenge", "test", path, allow_partial=True)


def test_malformed_json_line(tmp_path, shared_benchmarks):
    lines = _gsm8k_rows(shared_benchmarks, 3)
    lines[1] = lines[1][:40]
    path = tmp_path / "test.jsonl"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match=r"line 2: invalid JSON"):
        load_benchmark("gsm8k", "test", path, allow_partial=True)


def test_gsm8k_answer_without_final_answer_marker(tmp_path):
    path = write_jsonl(tmp_path / "test.jsonl", [{"question": "q", "answer": "no marker"}])
    with pytest.raises(DataError, match=r"field 'answer': GSM8K answer has no '#### "):
        load_benchmark("gsm8k", "test", path, allow_partial=True)


def test_truncated_gzip(tmp_path, shared_benchmarks):
    data = gzip.compress((shared_benchmarks / "gsm8k" / "test.jsonl").read_bytes())
    path = tmp_path / "test.jsonl.gz"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match=r"test\.jsonl\.gz: cannot read \(truncated or corrupt file\?\)"):
        load_benchmark("gsm8k", "test", path)


def test_truncated_hellaswag_text(tmp_path, shared_benchmarks):
    text = bz2.decompress((shared_benchmarks / "hellaswag" / "hellaswag_val_full.txt.bz2").read_bytes())
    path = tmp_path / "hellaswag_val.txt"
    path.write_bytes(text[: 6 * 200])  # cuts an item in the middle
    with pytest.raises(DataError, match=r"not a multiple of 6 \(truncated file\?\)"):
        load_benchmark("hellaswag", "validation", path, allow_partial=True)


def test_wrong_item_count_is_refused(tmp_path, shared_benchmarks):
    path = tmp_path / "test.jsonl"
    path.write_text("\n".join(_gsm8k_rows(shared_benchmarks, 1318)) + "\n")
    with pytest.raises(DataError, match=r"expected 1319 items in gsm8k/test, found 1318"):
        load_benchmark("gsm8k", "test", path)


def test_non_utf8_file_names_the_line(shared_benchmarks):
    with pytest.raises(DataError, match=r"mmlu_moral_scenarios\.csv, line 54: not valid utf-8"):
        load_benchmark(
            "mmlu", "test", shared_benchmarks / "mmlu_redux" / "mmlu_moral_scenarios.csv", allow_partial=True
        )


def test_unsupported_file_type(tmp_path):
    path = tmp_path / "test.xlsx"
    path.write_bytes(b"PK")
    with pytest.raises(DataError, match=r"unsupported file type"):
        load_benchmark("gsm8k", "test", path)


def test_import_stores_a_valid_copy_and_it_takes_precedence(shared_benchmarks):
    sets = import_copy(shared_benchmarks / "gsm8k", "gsm8k")
    assert sorted(s.split for s in sets) == ["test", "train"]
    loaded = load_benchmark("gsm8k")
    assert loaded.source.kind == "imported"
    assert loaded.content_sha256 == load_benchmark("gsm8k", source="bundled").content_sha256


def test_failed_import_stores_nothing(tmp_path, shared_benchmarks):
    (tmp_path / "test.jsonl").write_text((shared_benchmarks / "gsm8k" / "test.jsonl").read_text())
    train = (shared_benchmarks / "gsm8k" / "train.jsonl").read_text().splitlines()
    train[7000] = '{"question": "broken"'
    (tmp_path / "train.jsonl").write_text("\n".join(train) + "\n")
    with pytest.raises(DataError, match=r"train\.jsonl, line 7001: invalid JSON"):
        import_copy(tmp_path, "gsm8k")
    store = data_store_dir()
    assert not (store / "manifest.json").exists()
    assert not list(store.rglob("*.parquet"))


def test_wrong_count_import_stores_nothing(tmp_path, shared_benchmarks):
    path = tmp_path / "ARC-Easy-Test.jsonl"
    path.write_text(
        "\n".join((shared_benchmarks / "arc" / "arc_easy_test.jsonl").read_text().splitlines()[:-1]) + "\n"
    )
    with pytest.raises(DataError, match=r"expected 2376 items in arc_easy/test, found 2375"):
        import_copy(path, "arc_easy")
    assert not (data_store_dir() / "manifest.json").exists()


def test_partial_import_is_recorded_as_partial(shared_benchmarks):
    import_copy(shared_benchmarks / "mmlu_redux" / "mmlu_anatomy.csv", "mmlu", ["test"], partial=True)
    loaded = load_benchmark("mmlu")
    assert loaded.source.kind == "imported" and not loaded.source.complete and len(loaded) == 100
