"""Every format, and every fault: counted with file and line, the scan goes on (or stops under strict),
and records read + skipped = every record in the input."""

from __future__ import annotations

import bz2
import gzip
import lzma

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import zstandard

from harness.leakage.fields import parse_field
from harness.leakage.inputs import expand_inputs, plan_shards
from harness.leakage.readers import ReadOptions, ScanFaultError, ShardReader

GOOD = {"text": "The quick brown fox jumps over the lazy dog near the river bank today."}


def read_all(path, shard_bytes=1 << 30, **opts):
    files, _ = expand_inputs([path])
    out, accts = [], []
    for shard in plan_shards(files, shard_bytes):
        reader = ShardReader(shard, ReadOptions(**opts))
        out += [(shard, r) for r in reader.records()]
        accts.append(reader.acct)
    return out, accts


def one(path, **opts):
    records, accts = read_all(path, **opts)
    assert len(accts) == 1
    return [r for _, r in records], accts[0]


def lines(*items: bytes) -> bytes:
    return b"".join(i + b"\n" for i in items)


def test_faults_in_json_lines_are_counted_with_their_lines(tmp_path) -> None:
    p = tmp_path / "c.jsonl"
    p.write_bytes(
        lines(
            orjson.dumps(GOOD),
            b'{"text": "unterminated',  # line 2: malformed
            b"",  # line 3: blank, not a record
            b'{"text": "caf\xe9 latin-1 bytes"}',  # line 4: invalid UTF-8: repaired and read
            b'{"id": 4}',  # line 5: no string at all
            b"[1, 2, 3]",  # line 6: no string at all
            orjson.dumps({"title": "a record with another field only, long enough to matter"}),  # line 7
        )
    )
    records, acct = one(p)
    assert [r.line for r in records] == [1, 4, 7]
    assert [r.number for r in records] == [0, 2, 5]
    assert records[1].texts == [("text", "caf\ufffd latin-1 bytes")]
    assert acct.records_read == 3 and acct.records_skipped == 3 and acct.blank_lines == 1 and acct.lines == 7
    reasons = {k: [(e["line"], e["record"]) for e in v["examples"]] for k, v in acct.skipped.items()}
    assert reasons == {"malformed_json": [(2, 1)], "no_text": [(5, 3), (6, 4)]}
    repaired = acct.repairs["decoded_with_replacement"]
    assert repaired["count"] == 1 and (
        repaired["examples"][0]["line"],
        repaired["examples"][0]["record"],
    ) == (4, 2)
    assert "1 invalid UTF-8 sequence(s)" in repaired["examples"][0]["detail"]
    _, acct = one(p, fields=(parse_field("text"),))
    assert acct.skipped["missing_field"]["examples"][0]["line"] == 5
    assert {e["line"] for e in acct.skipped["missing_field"]["examples"]} == {5, 6, 7}
    assert acct.records_read + acct.records_skipped == 6


def test_strict_stops_at_the_first_fault_naming_file_and_line(tmp_path) -> None:
    p = tmp_path / "c.jsonl"
    p.write_bytes(lines(orjson.dumps(GOOD), b"{oops"))
    with pytest.raises(ScanFaultError, match=r"c\.jsonl: line 2: malformed json"):
        one(p, strict=True)


@pytest.mark.parametrize(
    ("suffix", "compress"),
    [
        (".gz", gzip.compress),
        (".zst", lambda d: zstandard.ZstdCompressor().compress(d)),
        (".bz2", bz2.compress),
        (".xz", lzma.compress),
    ],
)
def test_truncated_compressed_files(tmp_path, suffix, compress) -> None:
    data = b"".join(
        orjson.dumps({"text": f"record number {i} " + "filler words " * 40}) + b"\n" for i in range(3000)
    )
    whole = tmp_path / f"ok.jsonl{suffix}"
    whole.write_bytes(compress(data))
    records, acct = one(whole)
    assert acct.records_read == 3000 and acct.file_faults == [] and acct.bytes_decoded == len(data)
    cut = tmp_path / f"cut.jsonl{suffix}"
    cut.write_bytes(whole.read_bytes()[: len(whole.read_bytes()) * 2 // 3])
    records, acct = one(cut)
    assert [f["reason"] for f in acct.file_faults] == ["truncated"]
    fault = acct.file_faults[0]
    assert fault["line"] == acct.lines + (0 if "truncated" in acct.skipped else 1)
    assert acct.records_read == len(records) and acct.records_read < 3000
    # Every record that was decoded is read; the one cut in half is "truncated", not "malformed".
    assert set(acct.skipped) <= {"truncated"}
    if "truncated" in acct.skipped:
        assert acct.skipped["truncated"]["examples"][0]["line"] == acct.records_read + 1
    with pytest.raises(ScanFaultError, match=r"cut\.jsonl"):
        one(cut, strict=True)


def test_corrupt_gzip_is_a_file_fault(tmp_path) -> None:
    data = gzip.compress(b"".join(orjson.dumps({"text": f"row {i} " * 30}) + b"\n" for i in range(2000)))
    p = tmp_path / "bad.jsonl.gz"
    p.write_bytes(data[:4000] + b"\x00garbage\xff" * 50 + data[4500:])
    _, acct = one(p)
    assert [f["reason"] for f in acct.file_faults] == ["corrupt"]


def test_record_too_large_is_skipped_without_holding_it(tmp_path) -> None:
    p = tmp_path / "big.jsonl"
    p.write_bytes(lines(orjson.dumps(GOOD), orjson.dumps({"text": "word " * 50_000}), orjson.dumps(GOOD)))
    records, acct = one(p, max_record_bytes=100_000)
    assert [r.line for r in records] == [1, 3]
    assert acct.skipped["record_too_large"]["examples"][0]["line"] == 2
    records, acct = one(p)  # under the default limit the same record is read
    assert acct.records_read == 3


def test_byte_range_shards_add_up_to_the_whole_file(tmp_path) -> None:
    rows = [orjson.dumps({"text": f"document {i} " + "x" * (i % 97)}) for i in range(2000)]
    rows[500] = b"{broken"
    rows[1500] = b""
    p = tmp_path / "c.jsonl"
    p.write_bytes(lines(*rows))
    whole, (acct,) = read_all(p)
    split, accts = read_all(p, shard_bytes=7_000)
    assert len(accts) > 10
    assert sum(a.records_read for a in accts) == acct.records_read == 1998
    assert sum(a.records_skipped for a in accts) == acct.records_skipped == 1
    assert sum(a.lines for a in accts) == acct.lines == 2000
    assert sum(a.bytes_read for a in accts) == p.stat().st_size
    texts = [r.texts for _, r in split]
    assert texts == [r.texts for _, r in whole]


def test_json_documents_and_json_lines_in_dot_json(tmp_path) -> None:
    arr = tmp_path / "a.json"
    arr.write_bytes(orjson.dumps([GOOD, {"id": 1}, GOOD], option=orjson.OPT_INDENT_2))
    records, acct = one(arr)
    assert [r.number for r in records] == [0, 2] and acct.skipped["no_text"]["count"] == 1
    obj = tmp_path / "o.json"
    obj.write_bytes(orjson.dumps({"data": [GOOD, GOOD]}, option=orjson.OPT_INDENT_2))
    records, _ = one(obj)
    assert len(records) == 1 and [p for p, _ in records[0].texts] == ["data[0].text", "data[1].text"]
    jl = tmp_path / "l.json"
    jl.write_bytes(lines(orjson.dumps(GOOD), orjson.dumps(GOOD)))
    records, _ = one(jl)
    assert [r.line for r in records] == [1, 2]
    broken = tmp_path / "b.json"
    broken.write_bytes(b'[\n  {"text": "x"},\n')
    _, acct = one(broken)
    assert acct.skipped["malformed_json"]["count"] == 1
    big = tmp_path / "big.json"
    big.write_bytes(orjson.dumps([GOOD] * 2000, option=orjson.OPT_INDENT_2))
    _, acct = one(big, max_record_bytes=10_000)
    assert acct.skipped["record_too_large"]["count"] == 1


def test_plain_text_paragraphs(tmp_path) -> None:
    p = tmp_path / "book.txt"
    p.write_bytes(b"First paragraph line one,\r\nline two.\r\n\r\n\r\nSecond \xff paragraph.\n\nThird one\n")
    records, acct = one(p)
    assert [(r.line, r.texts) for r in records] == [
        (1, [("text", "First paragraph line one,\nline two.")]),
        (5, [("text", "Second \ufffd paragraph.")]),
        (7, [("text", "Third one")]),
    ]
    assert acct.repairs["decoded_with_replacement"]["examples"][0]["line"] == 5
    assert acct.records_read == 3 and acct.records_skipped == 0 and acct.blank_lines == 3


def test_parquet_row_groups_and_columns(tmp_path) -> None:
    table = pa.table({"text": [f"row {i} text" for i in range(100)], "n": list(range(100))})
    p = tmp_path / "t.parquet"
    pq.write_table(table, p, row_group_size=10)
    records, accts = read_all(p, shard_bytes=1)  # one shard per row group
    assert len(accts) == 10
    assert [s.record_base + r.number for s, r in records] == list(range(100))  # shards know their first row
    assert sum(a.records_read for a in accts) == 100
    _, acct = one(p, fields=(parse_field("missing"),))
    assert acct.skipped["missing_field"]["count"] == 100
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(b"PAR1 this is not parquet")
    _, acct = one(bad)
    assert acct.file_faults[0]["reason"] == "unreadable"


def test_datasets_save_to_disk_folder(tmp_path) -> None:
    import datasets

    ds = datasets.Dataset.from_dict(
        {"text": [f"sample {i} of a saved dataset" for i in range(30)], "n": list(range(30))}
    )
    datasets.DatasetDict({"train": ds, "test": ds.select(range(5))}).save_to_disk(str(tmp_path / "dd"))
    files, ignored = expand_inputs([tmp_path / "dd"])
    assert [f.format for f in files] == ["arrow", "arrow"] and ignored == []
    records, accts = read_all(tmp_path / "dd")
    assert sorted(a.records_read for a in accts) == [5, 30]
    assert records[0][1].texts == [("text", "sample 0 of a saved dataset")]


@pytest.mark.slow
def test_a_100_mb_single_line_is_read_in_bounded_memory(tmp_path, peak_rss_kib) -> None:
    text = ("lorem ipsum dolor sit amet " * 4_000_000)[:100_000_000]
    p = tmp_path / "huge.jsonl"
    with open(p, "wb") as fh:
        fh.write(orjson.dumps(GOOD) + b"\n")
        fh.write(orjson.dumps({"text": text}) + b"\n")
        fh.write(orjson.dumps(GOOD) + b"\n")
    records, acct = one(p)
    assert [r.line for r in records] == [1, 2, 3] and len(records[1].texts[0][1]) == 100_000_000
    del records
    _, acct = one(p, max_record_bytes=50_000_000)
    assert acct.skipped["record_too_large"]["examples"][0]["line"] == 2 and acct.records_read == 2
    assert peak_rss_kib() < 1_000_000, peak_rss_kib()  # KiB over the baseline
