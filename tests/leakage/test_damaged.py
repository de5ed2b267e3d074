"""Damaged inputs, as they come in the wild, through the command line: a scan never calls CLEAN what it did
not read (INCOMPLETE, exit 3 under --fail-on-leak), a leak found in what was read still wins (exit 1), a
stray invalid byte never drops a record, and a --field that no record has is an error (exit 2)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import orjson
import pytest
import zstandard
from typer.testing import CliRunner

from harness.cli import app
from tests.leakage.corpora import FILLER, page, write_jsonl

runner = CliRunner()


@pytest.fixture(scope="module")
def item(sets) -> str:
    return sets["gsm8k"].items[11].question


def scan(paths: list[Path], out: Path, *extra: str):
    args = ["scan", *map(str, paths), "--benchmarks", "gsm8k", "--out", str(out), "--no-progress"]
    result = runner.invoke(app, [*args, "--fail-on-leak", *extra])
    record = json.loads((out / "leakage.json").read_text())
    summary = (out / "summary.md").read_text()
    return result, record, summary


def clean_pages(n: int) -> list[dict]:
    return [{"text": page(f"Note {i}.")} for i in range(n)]


def test_a_parquet_that_is_not_parquet_is_incomplete_never_clean(tmp_path) -> None:
    bad = tmp_path / "shard-0001.parquet"
    bad.write_bytes(b'{"text": "this is JSON Lines under a Parquet name"}\n' * 20)
    result, rec, summary = scan([bad], tmp_path / "o")
    assert result.exit_code == 3, result.output
    assert rec["status"] == "incomplete" and rec["accounting"]["records_read"] == 0
    assert summary.startswith("# Leakage scan: INCOMPLETE")
    head = summary.split("## Benchmarks")[0]
    assert "no record was read at all" in head and "shard-0001.parquet: unreadable" in head
    assert "INCOMPLETE" in result.output and "not read:" in result.output
    # without the gate, the scan ran: exit 0, and the record still says incomplete
    plain = runner.invoke(app, ["scan", str(bad), "--benchmarks", "gsm8k", "--out", str(tmp_path / "p")])
    assert plain.exit_code == 0 and "INCOMPLETE" in plain.output


def test_truncated_gzip_and_zstd(tmp_path, item) -> None:
    records = clean_pages(200)
    records[3]["text"] = page(item)  # early: read before the damage
    data = b"".join(orjson.dumps(r) + b"\n" for r in records)
    gz = tmp_path / "a.jsonl.gz"
    gz.write_bytes(gzip.compress(data)[: len(gzip.compress(data)) // 2])
    result, rec, summary = scan([gz], tmp_path / "o1")
    assert result.exit_code == 1 and rec["status"] == "leak"  # a finding stands whatever was not read
    assert not rec["completeness"]["complete"]
    assert any("a.jsonl.gz: truncated" in r for r in rec["completeness"]["not_read"])
    assert "a.jsonl.gz: truncated" in summary.split("## Benchmarks")[0]

    clean = b"".join(orjson.dumps(r) + b"\n" for r in clean_pages(200))
    zst = tmp_path / "b.jsonl.zst"
    packed = zstandard.ZstdCompressor().compress(clean)
    zst.write_bytes(packed[: len(packed) - 7])
    result, rec, _ = scan([zst], tmp_path / "o2")
    assert result.exit_code == 3 and rec["status"] == "incomplete"
    assert 0 < rec["accounting"]["records_read"] < 200
    fault = rec["accounting"]["file_faults"][0]
    assert fault["reason"] == "truncated" and fault["file"].endswith("b.jsonl.zst")


def test_a_stray_invalid_byte_never_drops_a_record(tmp_path, item) -> None:
    records = clean_pages(30)
    lines = [orjson.dumps(r) for r in records]
    leaky = orjson.dumps({"text": page("Intro \x00MARK" + " " + item)}).replace(b"\\u0000MARK", b"caf\xe9")
    lines[7] = leaky  # a Latin-1 byte inside the record that holds the test item
    lines[12] = lines[12].replace(b"Note 12.", b"Note \x9212.")  # a Windows-1252 quote in a clean one
    path = tmp_path / "web.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    result, rec, summary = scan([path], tmp_path / "o")
    assert result.exit_code == 1 and rec["status"] == "leak"
    found = rec["items"][0]
    assert found["dirty"] and found["where"]["record"] == 7 and found["where"]["line"] == 8
    acc = rec["accounting"]
    assert acc["records_read"] == 30 and acc["records_skipped"] == 0
    assert acc["decoded_with_replacement"] == 2
    assert [e["line"] for e in acc["repairs"]["decoded_with_replacement"]["examples"]] == [8, 13]
    assert rec["completeness"]["complete"]  # repaired records were read: nothing is missing
    assert "2 record(s) had invalid UTF-8 bytes" in summary


def test_repaired_records_alone_leave_the_scan_clean(tmp_path) -> None:
    path = tmp_path / "web.jsonl"
    path.write_bytes(orjson.dumps({"text": FILLER}).replace(b"library", b"libr\xffary") + b"\n")
    result, rec, _ = scan([path], tmp_path / "o")
    assert result.exit_code == 0 and rec["status"] == "clean"
    assert rec["accounting"]["decoded_with_replacement"] == 1


def test_a_field_no_record_has_is_an_error_at_the_first_shard(tmp_path) -> None:
    path = write_jsonl(tmp_path / "chat.jsonl", [{"content": page("x"), "url": "u"}] * 50)
    out = tmp_path / "o"
    args = ["scan", str(path), "--benchmarks", "gsm8k", "--out", str(out), "--field", "text", "--no-progress"]
    result = runner.invoke(app, [*args, "--fail-on-leak"])
    assert result.exit_code == 2
    assert (
        "chat.jsonl" in result.output and "--field text" in result.output and "content, url" in result.output
    )
    rec = json.loads((out / "leakage.json").read_text())
    assert rec["status"] == "failed" and "--field text" in rec["error"]


def test_empty_files(tmp_path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")
    result, rec, _ = scan([empty], tmp_path / "o1")
    assert result.exit_code == 3 and rec["status"] == "incomplete"
    assert "no record was read at all (every file was empty)" in rec["completeness"]["not_read"][0]

    empty_gz = tmp_path / "empty.jsonl.gz"
    empty_gz.write_bytes(b"")  # not a gzip stream at all
    result, rec, _ = scan([empty_gz], tmp_path / "o2")
    assert result.exit_code == 3 and rec["accounting"]["file_faults"][0]["reason"] == "truncated"

    good = write_jsonl(tmp_path / "good.jsonl", clean_pages(5))
    result, rec, summary = scan([empty, good], tmp_path / "o3")
    assert result.exit_code == 0 and rec["status"] == "clean"  # an empty file hides nothing
    assert rec["accounting"]["files_empty"] == [str(empty)] and "empty files (no record): 1" in summary


def test_a_directory_with_nothing_to_scan_fails(tmp_path) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "notes.bin").write_bytes(b"\x00\x01")
    out = tmp_path / "o"
    result = runner.invoke(app, ["scan", str(folder), "--out", str(out), "--no-progress", "--fail-on-leak"])
    assert result.exit_code == 2 and "nothing to scan" in result.output
    assert json.loads((out / "leakage.json").read_text())["status"] == "failed"
    result = runner.invoke(
        app, ["scan", str(tmp_path / "nothing-*.jsonl"), "--out", str(out), "--no-progress"]
    )
    assert result.exit_code == 2 and "no file matches" in result.output


def test_mixed_good_and_bad_files(tmp_path, item) -> None:
    folder = tmp_path / "corpus"
    good = clean_pages(20)
    write_jsonl(folder / "a-good.jsonl", good)
    (folder / "b-bad.parquet").write_bytes(b"PAR1 garbage")
    packed = gzip.compress(b"".join(orjson.dumps(r) + b"\n" for r in clean_pages(100)))
    (folder / "c-cut.jsonl.gz").write_bytes(packed[:-30])
    (folder / "d-export.csv").write_text("text\nsome text that was never read\n")
    (folder / "README").write_text("about this corpus\n")
    result, rec, summary = scan([folder], tmp_path / "o1")
    assert result.exit_code == 3 and rec["status"] == "incomplete"
    not_read = rec["completeness"]["not_read"]
    assert len(not_read) == 4, not_read
    assert "b-bad.parquet: unreadable" in not_read[0] and "nothing in it could be read" in not_read[0]
    assert "c-cut.jsonl.gz: truncated" in not_read[1] and "nothing after line 98" in not_read[1]
    assert "1 of 119 records (0.84%) were skipped (truncated 1" in not_read[2]
    assert "d-export.csv" in not_read[3] and "README" not in not_read[3]
    files = {pf["file"].rsplit("/", 1)[-1]: pf for pf in rec["accounting"]["per_file"]}
    assert files["a-good.jsonl"]["records_read"] == 20 and files["b-bad.parquet"]["file_faults"] == 1

    good[9]["text"] = page(item)
    write_jsonl(folder / "a-good.jsonl", good)
    result, rec, summary = scan([folder], tmp_path / "o2")
    assert result.exit_code == 1 and rec["status"] == "leak"
    assert summary.startswith("# Leakage scan: LEAK") and "Not read, so not checked" in summary


def test_max_skipped_sets_what_the_gate_tolerates(tmp_path) -> None:
    path = write_jsonl(tmp_path / "web.jsonl", clean_pages(99))
    with open(path, "ab") as fh:
        fh.write(b'{"text": "broken\n')
    result, rec, _ = scan([path], tmp_path / "o1")
    assert result.exit_code == 3 and rec["status"] == "incomplete"
    assert "1 of 100 records (1.00%) were skipped (malformed_json 1" in rec["completeness"]["not_read"][0]
    result, rec, _ = scan([path], tmp_path / "o2", "--max-skipped", "0.02")
    assert result.exit_code == 0 and rec["status"] == "clean"
    assert rec["completeness"]["records_skipped_fraction"] == 0.01 and rec["config"]["max_skipped"] == 0.02
    bad = runner.invoke(app, ["scan", str(path), "--max-skipped", "2", "--no-progress"])
    assert bad.exit_code == 2
