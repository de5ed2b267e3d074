"""Input paths: files, directories, globs, datasets folders; errors; the shard plan."""

from __future__ import annotations

import os

import pytest

from harness.leakage.inputs import ScanInputError, describe, expand_inputs, plan_shards
from tests.leakage.corpora import write_jsonl


def test_formats_by_name(tmp_path) -> None:
    assert describe(tmp_path / "a.jsonl.zst") == ("jsonl", "zst")
    assert describe(tmp_path / "a.JSON.GZ") == ("json", "gz")
    assert describe(tmp_path / "a.txt.xz") == ("txt", "xz")
    assert describe(tmp_path / "a.parquet") == ("parquet", None)
    assert describe(tmp_path / "a.parquet.gz") is None  # Parquet compresses inside
    assert describe(tmp_path / "a.csv") is None
    assert describe(tmp_path / "README") is None


def test_directories_globs_and_ignored_files(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("b/2.jsonl", "b/1.jsonl.gz", "b/deep/3.txt", "c/4.jsonl"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("{}\n")
    (tmp_path / "b" / "notes.csv").write_text("x")
    files, ignored = expand_inputs(["b", "c/*.jsonl", str(tmp_path / "b" / "2.jsonl")])
    assert [f.name for f in files] == ["b/1.jsonl.gz", "b/2.jsonl", "b/deep/3.txt", "c/4.jsonl"]
    assert ignored == ["b/notes.csv"]
    assert files[0].path == os.path.join(tmp_path, "b", "1.jsonl.gz")


def test_input_errors_name_the_path(tmp_path) -> None:
    with pytest.raises(ScanInputError, match=r"nope\.jsonl: no such file"):
        expand_inputs([tmp_path / "nope.jsonl"])
    with pytest.raises(ScanInputError, match="no file matches"):
        expand_inputs([str(tmp_path / "*.jsonl")])
    (tmp_path / "data.csv").write_text("a,b\n")
    with pytest.raises(ScanInputError, match=r"data\.csv: unsupported file type"):
        expand_inputs([tmp_path / "data.csv"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(ScanInputError, match="nothing to scan"):
        expand_inputs([tmp_path / "empty"])


def test_shard_plan(tmp_path) -> None:
    big = write_jsonl(tmp_path / "big.jsonl", ({"text": "x" * 100} for _ in range(1000)))
    write_jsonl(tmp_path / "small.jsonl.gz", [{"text": "y"}], compress="gz")
    files, _ = expand_inputs([tmp_path])
    shards = plan_shards(files, shard_bytes=10_000)
    big_shards = [s for s in shards if s.file.name.endswith("big.jsonl")]
    assert len(big_shards) == -(-big.stat().st_size // 10_000)
    assert sum(s.size for s in big_shards) == big.stat().st_size
    assert [s.part for s in big_shards] == list(range(len(big_shards)))
    gz = [s for s in shards if s.file.compression == "gz"]
    assert len(gz) == 1 and gz[0].stop is None  # compressed files are never split
    assert len({s.key for s in shards}) == len(shards)
    os.utime(big, ns=(1, 1))  # the key follows the file: a changed file is scanned again on resume
    files2, _ = expand_inputs([tmp_path])
    assert plan_shards(files2, 10_000)[0].key != shards[0].key
