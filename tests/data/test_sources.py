"""load_benchmark over every source: bundled, local copies in each format, and the Hub."""

from __future__ import annotations

import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from harness.data import BENCHMARKS, DataError, load_benchmark, snapshot
from tests.data.hub_rows import ARC_HUB_ROWS, HELLASWAG_HUB_ROWS, MMLU_HUB_ROWS, write_jsonl


@pytest.mark.parametrize(
    ("name", "split", "count", "first_id", "complete"),
    [
        ("gsm8k", "test", 1319, "gsm8k/test/0", True),
        ("gsm8k", "train", 7473, "gsm8k/train/0", True),
        ("arc_challenge", "test", 1172, "arc_challenge/test/0", True),
        ("arc_easy", "test", 2376, "arc_easy/test/0", True),
        ("hellaswag", "validation", 10042, "hellaswag/validation/0", True),
        ("mmlu", "test", 5700, "mmlu/abstract_algebra/test/redux-0", False),
    ],
)
def test_bundled_snapshot_loads_with_official_counts_and_stable_ids(name, split, count, first_id, complete):
    bset = load_benchmark(name, split)
    assert len(bset) == count
    assert bset.items[0].item_id == first_id
    assert bset.source.kind == "bundled"
    assert bset.source.complete is complete
    assert len({i.item_id for i in bset.items}) == count  # ids are unique


def test_default_split_is_the_scored_one():
    assert load_benchmark("hellaswag").split == "validation"
    assert load_benchmark("gsm8k").split == "test"


def test_gsm8k_gold_is_the_final_answer():
    item = load_benchmark("gsm8k").items[0]
    assert item.question.startswith("Janet")
    assert item.gold == "18"
    assert "#### 18" in item.answer


@pytest.mark.parametrize(
    ("name", "split", "rel"),
    [
        ("gsm8k", "test", "gsm8k"),
        ("gsm8k", "train", "gsm8k/train.jsonl"),
        ("arc_challenge", "test", "arc"),
        ("arc_easy", "test", "arc/arc_easy_test.jsonl"),
        ("hellaswag", "validation", "hellaswag"),
    ],
)
def test_local_copy_of_the_real_sets_equals_the_bundled_copy(shared_benchmarks, name, split, rel):
    local = load_benchmark(name, split, shared_benchmarks / rel)
    bundled = load_benchmark(name, split, "bundled")
    assert local.source.kind == "local"
    assert local.content_sha256 == bundled.content_sha256
    assert [i.item_id for i in local.items] == [i.item_id for i in bundled.items]


def test_bundled_checksum_is_checked_on_load(tmp_path, monkeypatch):
    copy = tmp_path / "bundled"
    shutil.copytree(snapshot.BUNDLED_DIR, copy)
    monkeypatch.setattr(snapshot, "BUNDLED_DIR", copy)
    target = copy / "arc_easy" / "test.parquet"
    data = bytearray(target.read_bytes())
    data[-100] ^= 0xFF
    target.write_bytes(bytes(data))
    with pytest.raises(DataError, match=r"sha256 mismatch"):
        load_benchmark("arc_easy", source="bundled")


def test_every_bundled_entry_has_a_licence_and_source():
    manifest = snapshot.read_manifest(snapshot.BUNDLED_DIR)
    for key, meta in manifest["sets"].items():
        assert meta["licence"], key
        assert meta["source"]["origin"], key
    assert (snapshot.BUNDLED_DIR / "ATTRIBUTION.md").exists()
    assert not list(snapshot.BUNDLED_DIR.rglob("*.jsonl")), "bundle must not hold plain-text test items"


def test_arc_hub_schema_keeps_native_ids_and_numeric_labels(tmp_path):
    path = write_jsonl(tmp_path / "ARC-Challenge-Test.jsonl", ARC_HUB_ROWS)
    bset = load_benchmark("arc_challenge", "test", path, allow_partial=True)
    assert [i.item_id for i in bset.items] == [
        "arc_challenge/test/Mercury_7175875",
        "arc_challenge/test/NYSEDREGENTS_2015_4_22",
    ]
    assert bset.items[1].gold == 3 and bset.items[1].answer == "an iron nail"
    assert bset.source.complete is False


def test_arc_original_ai2_format(tmp_path):
    original = [
        {
            "id": r["id"],
            "question": {"stem": r["question"], "choices": [{"text": t, "label": lab} for t, lab in zip(r["choices"]["text"], r["choices"]["label"], strict=True)]},
            "answerKey": r["answerKey"],
        }
        for r in ARC_HUB_ROWS
    ]  # fmt: skip
    path = write_jsonl(tmp_path / "ARC-Challenge" / "ARC-Challenge-Test.jsonl", original)
    hub = load_benchmark(
        "arc_challenge", "test", write_jsonl(tmp_path / "hub.jsonl", ARC_HUB_ROWS), allow_partial=True
    )
    orig = load_benchmark("arc_challenge", "test", path.parent, allow_partial=True)
    assert orig.content_sha256 == hub.content_sha256


def test_hub_parquet_layout_and_hellaswag_ind_ids(tmp_path):
    shard = tmp_path / "data" / "validation-00000-of-00001.parquet"
    shard.parent.mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist(HELLASWAG_HUB_ROWS), shard)
    pq.write_table(
        pa.Table.from_pylist(HELLASWAG_HUB_ROWS), tmp_path / "data" / "train-00000-of-00001.parquet"
    )
    bset = load_benchmark("hellaswag", "validation", tmp_path, allow_partial=True)
    assert len(bset) == 1
    assert bset.items[0].item_id == "hellaswag/validation/24"
    assert bset.items[0].gold == 3
    assert bset.rows[0]["ctx_b"] == "he"


def test_hellaswag_original_jsonl_with_int_labels(tmp_path):
    rows = [{**r, "label": int(r["label"])} for r in HELLASWAG_HUB_ROWS]
    bset = load_benchmark(
        "hellaswag", "validation", write_jsonl(tmp_path / "hellaswag_val.jsonl", rows), allow_partial=True
    )
    assert bset.rows[0]["label"] == "3"


def test_mmlu_hub_rows_are_numbered_within_subject(tmp_path):
    bset = load_benchmark(
        "mmlu", "test", write_jsonl(tmp_path / "test.jsonl", MMLU_HUB_ROWS), allow_partial=True
    )
    assert [i.item_id for i in bset.items] == [
        "mmlu/abstract_algebra/test/0",
        "mmlu/abstract_algebra/test/1",
        "mmlu/anatomy/test/0",
    ]
    assert bset.items[0].answer == "4" and bset.items[0].subject == "abstract_algebra"


def test_mmlu_original_per_subject_csv_release(tmp_path):
    test_dir = tmp_path / "data" / "test"
    dev_dir = tmp_path / "data" / "dev"
    test_dir.mkdir(parents=True)
    dev_dir.mkdir(parents=True)
    letters = "ABCD"
    for subject in ("abstract_algebra", "anatomy"):
        rows = [r for r in MMLU_HUB_ROWS if r["subject"] == subject]
        lines = [
            ",".join([f'"{r["question"]}"', *[f'"{c}"' for c in r["choices"]], letters[r["answer"]]])
            for r in rows
        ]
        (test_dir / f"{subject}_test.csv").write_text("\n".join(lines) + "\n")
        (dev_dir / f"{subject}_dev.csv").write_text(lines[0] + "\n")
    hub = load_benchmark(
        "mmlu", "test", write_jsonl(tmp_path / "hub.jsonl", MMLU_HUB_ROWS), allow_partial=True
    )
    orig = load_benchmark("mmlu", "test", tmp_path / "data", allow_partial=True)
    assert orig.content_sha256 == hub.content_sha256
    dev = load_benchmark("mmlu", "dev", tmp_path / "data", allow_partial=True)
    assert len(dev) == 2 and dev.items[0].item_id == "mmlu/abstract_algebra/dev/0"


def test_mmlu_redux_csvs_with_their_mess(shared_benchmarks):
    # ';'-separated files, varying column order, one Mac Roman file: all readable with the right encoding
    bset = load_benchmark(
        "mmlu", "test", shared_benchmarks / "mmlu_redux" / "mmlu_anatomy.csv", allow_partial=True
    )
    assert len(bset) == 100 and bset.items[0].subject == "anatomy"
    scen = load_benchmark(
        "mmlu",
        "test",
        shared_benchmarks / "mmlu_redux" / "mmlu_moral_scenarios.csv",
        allow_partial=True,
        encoding="mac_roman",
    )
    assert any("sister’s" in i.question for i in scen.items)


def test_save_to_disk_folder(tmp_path):
    import datasets

    datasets.Dataset.from_list(ARC_HUB_ROWS).save_to_disk(str(tmp_path / "saved"))
    bset = load_benchmark("arc_challenge", "test", tmp_path / "saved", allow_partial=True)
    assert bset.items[0].item_id == "arc_challenge/test/Mercury_7175875"


def test_hub_source_goes_through_datasets_and_records_the_request(monkeypatch):
    import datasets

    calls = []

    def fake_load_dataset(path, name=None, split=None, revision=None):
        calls.append((path, name, split, revision))
        return datasets.Dataset.from_list(ARC_HUB_ROWS)

    monkeypatch.setattr(datasets, "load_dataset", fake_load_dataset)
    bset = load_benchmark("arc_challenge", "test", "hub", allow_partial=True, revision="abc123")
    assert calls == [("allenai/ai2_arc", "ARC-Challenge", "test", "abc123")]
    assert bset.source.kind == "hub" and bset.items[0].item_id == "arc_challenge/test/Mercury_7175875"


def test_hub_loads_are_pinned_to_a_commit_unless_a_revision_is_given(monkeypatch):
    import datasets

    from harness.data import BENCHMARKS

    calls = []
    monkeypatch.setattr(
        datasets,
        "load_dataset",
        lambda path, name=None, split=None, revision=None: (
            calls.append(revision) or datasets.Dataset.from_list(ARC_HUB_ROWS)
        ),
    )
    bset = load_benchmark("arc_challenge", "test", "hub", allow_partial=True)
    assert calls == ["210d026faf9955653af8916fad021475a3f00453"]
    assert bset.source.revision == calls[0]  # offline, the pinned commit is what the record keeps
    for spec in BENCHMARKS.values():
        assert spec.hub_revision is not None and len(spec.hub_revision) == 40, spec.name
        int(spec.hub_revision, 16)


def test_hub_source_refuses_a_short_set_by_default(monkeypatch):
    import datasets

    monkeypatch.setattr(datasets, "load_dataset", lambda *a, **k: datasets.Dataset.from_list(ARC_HUB_ROWS))
    with pytest.raises(DataError, match=r"expected 1172 items in arc_challenge/test, found 2"):
        load_benchmark("arc_challenge", "test", "hub")


def test_unknown_benchmark_and_split():
    with pytest.raises(KeyError, match="known: gsm8k"):
        load_benchmark("gsm9k")
    with pytest.raises(DataError, match="has no split 'validation'"):
        load_benchmark("gsm8k", "validation")


def test_registry_counts_are_the_official_sizes():
    assert BENCHMARKS["mmlu"].splits["test"] == 14042
    assert BENCHMARKS["hellaswag"].eval_split == "validation"


def test_no_copy_anywhere_gives_actionable_error():
    with pytest.raises(DataError, match=r"harness data import"):
        load_benchmark("arc_easy", "train")


def test_file_named_for_split_is_picked_from_a_directory(tmp_path: Path):
    write_jsonl(tmp_path / "test.jsonl", MMLU_HUB_ROWS)
    write_jsonl(tmp_path / "dev.jsonl", MMLU_HUB_ROWS[:1])
    assert len(load_benchmark("mmlu", "dev", tmp_path, allow_partial=True)) == 1
    assert len(load_benchmark("mmlu", "test", tmp_path, allow_partial=True)) == 3
