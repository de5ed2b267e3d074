"""Records of a shard, in order, with complete accounting of everything that could not be read.

Every record of the input is either read (it had text where we looked) or skipped with a reason, its file
and its line (or record number where there are no lines):

- `malformed_json`: a JSON Lines line that is not JSON (even after the repair below);
- `missing_field`: none of the `--field` paths holds a string; `no_text`: no string at all (default fields);
- `record_too_large`: a line, paragraph or JSON document over `max_record_bytes` (not held in memory);
- `truncated`: the partial last record of a compressed file that ends early.
File-level faults (`truncated`, `corrupt`, `unreadable`, and an empty compressed file, which is no valid
stream) are recorded too: what lies after them cannot be counted, and the report says so. Under `strict`,
the first fault of either kind stops the scan with an error naming the file and line.

A fixable defect never drops a record: a line, paragraph or document that is not valid UTF-8 (a stray
Latin-1 or Windows-1252 byte, a character cut in half) is decoded with replacement (each bad byte becomes
U+FFFD, which the normalisation treats as a word separator, as it would the curly quote or dash the byte
usually stood for), scanned, and counted as `decoded_with_replacement` with its file and line. Only what
cannot be parsed even then is skipped.

A `--field` that no record has is an error (`FieldPathError`) at the first shard of the scan: raised as
soon as its first `FIELD_CHECK_RECORDS` parsed records (or all of a shorter shard) lack every requested
path, before the rest of the corpus is read for nothing. (In later shards, records lacking the paths are
counted as `missing_field`, which leaves the scan incomplete: a corpus may mix schemas.)

Record numbers are 0-based within the shard, lines 1-based within the shard; `results` turns both into
file positions (a shard of a byte-range-split file does not know how many lines came before it).

JSON Lines in blocks (`items()` with `block_keys`, when the compiled core is built): the lines are split in
bulk (`streams.iter_blocks`) and parsed by `_jsonlines.c`; the lines it reads are accounted for in bulk, and
every line it leaves (SLOW: anything but a plain valid object; TOO_LARGE) goes through the same per-line
code as record by record, in line order, so accounting, repairs, examples and the --field check come out
the same (tests/leakage/test_fastscan.py holds whole scans equal on a corpus of every kind of line).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import orjson

from harness.leakage.batches import BLANK, FAST, SLOW, TOO_LARGE, BlockBatch, TextRef, parse_block, pieces
from harness.leakage.fields import FieldPath, FieldPathError, record_texts
from harness.leakage.inputs import Shard
from harness.leakage.streams import Block, ByteStream, Line, iter_blocks, iter_lines

DEFAULT_MAX_RECORD_BYTES = 256 * 1024**2
EXAMPLES_PER_REASON = 1000  # skipped records listed per reason and shard (all are counted)
FIELD_CHECK_RECORDS = 1000  # parsed records of a shard that must not all lack the --field paths
REPLACED = "decoded_with_replacement"


class ScanFaultError(RuntimeError):
    """A fault in the input under --strict: names the file and line."""


@dataclass
class Record:
    number: int  # 0-based within the shard
    line: int | None  # 1-based within the shard; None for Parquet and Arrow
    texts: list[tuple[str, str]]  # (field path, text)


@dataclass
class Accounting:
    """What a shard read and skipped; merged into the scan's `accounting`."""

    file: str
    strict: bool = False
    records_read: int = 0
    records_skipped: int = 0
    lines: int = 0  # lines owned by the shard (line formats), blank ones included
    blank_lines: int = 0
    bytes_read: int = 0  # bytes of the file consumed (compressed size for compressed files)
    bytes_decoded: int = 0  # bytes after decompression
    skipped: dict[str, dict[str, Any]] = field(default_factory=dict)  # reason -> {"count", "examples"}
    file_faults: list[dict[str, Any]] = field(default_factory=list)
    repairs: dict[str, dict[str, Any]] = field(default_factory=dict)  # read after a repair: reason -> same

    @property
    def records(self) -> int:
        return self.records_read + self.records_skipped

    def skip(self, reason: str, record: int | None, line: int | None, detail: str) -> None:
        if self.strict:
            at = f"line {line}" if line is not None else f"record {record}"
            raise ScanFaultError(f"{self.file}: {at}: {reason.replace('_', ' ')}: {detail}")
        self.records_skipped += 1
        entry = self.skipped.setdefault(reason, {"count": 0, "examples": []})
        entry["count"] += 1
        if len(entry["examples"]) < EXAMPLES_PER_REASON:
            entry["examples"].append({"record": record, "line": line, "detail": detail[:300]})

    def repair(self, reason: str, record: int | None, line: int | None, detail: str) -> None:
        """A record read after a repair (counted, never skipped; not a fault even under strict)."""
        entry = self.repairs.setdefault(reason, {"count": 0, "examples": []})
        entry["count"] += 1
        if len(entry["examples"]) < EXAMPLES_PER_REASON:
            entry["examples"].append({"record": record, "line": line, "detail": detail[:300]})

    def fault(self, reason: str, line: int | None, record: int | None, detail: str) -> None:
        if self.strict:
            raise ScanFaultError(f"{self.file}: {reason}: {detail}")
        self.file_faults.append({"reason": reason, "line": line, "record": record, "detail": detail[:300]})

    def to_dict(self) -> dict[str, Any]:
        return {
            "records_read": self.records_read,
            "records_skipped": self.records_skipped,
            "lines": self.lines,
            "blank_lines": self.blank_lines,
            "bytes_read": self.bytes_read,
            "bytes_decoded": self.bytes_decoded,
            "skipped": self.skipped,
            "file_faults": self.file_faults,
            "repairs": self.repairs,
        }

    @classmethod
    def from_dict(cls, file: str, d: dict[str, Any]) -> Accounting:
        return cls(file=file, **d)


@dataclass
class ReadOptions:
    fields: Sequence[FieldPath] | None = None
    max_record_bytes: int = DEFAULT_MAX_RECORD_BYTES
    min_chars: int = 0  # shortest ASCII string worth scanning (see fields.record_texts)
    strict: bool = False
    check_fields: bool = False  # raise FieldPathError if no record has the fields (the scan's first shard)
    # JSON Lines in blocks through the compiled parser (`batches.BlockBatch`): the parser's keys (None: every
    # string field; see batches.parser_keys), or False for record by record
    block_keys: tuple[bytes, ...] | bool | None = False
    piece_chars: int = 1 << 20  # texts longer than this are cut into pieces (batches.pieces)
    profile_every: int = 0  # --profile: the parser hashes each record, keeps 1 in this many for compression
    block_bytes: int | None = None  # bytes of JSON Lines per block (None: one per chunk read)


class ShardReader:
    """Iterate a shard's records; `acct` fills as it goes and `raw_read` tracks progress."""

    def __init__(self, shard: Shard, options: ReadOptions) -> None:
        self.shard = shard
        self.options = options
        self.acct = Accounting(shard.file.name, strict=options.strict)
        self._stream: ByteStream | None = None
        self._raw_done = 0
        self._field_hits = 0  # parsed records with text at a --field path
        self._field_misses = 0  # parsed records without
        self._first_keys: tuple[str, int | None, list[str]] | None = None  # a record lacking the fields

    @property
    def raw_read(self) -> int:
        if self._stream is not None:
            return self._stream.raw_read
        return self._raw_done

    def records(self) -> Iterator[Record]:
        """The shard's records, one by one."""
        for item in self._items(blocks=False):
            assert isinstance(item, Record)
            yield item

    def items(self) -> Iterator[Record | BlockBatch]:
        """The shard's records, with JSON Lines read in blocks through the compiled parser when
        `options.block_keys` allows (each block a `BlockBatch`, its slow lines read as records inside it)."""
        return self._items(blocks=self.options.block_keys is not False)

    def _items(self, blocks: bool) -> Iterator[Record | BlockBatch]:
        fmt = self.shard.file.format
        if fmt in ("parquet", "arrow"):
            yield from self._table_records()
        elif fmt == "txt":
            yield from self._paragraphs()
        elif fmt == "json":
            yield from self._json_records(blocks)
        else:
            yield from self._jsonl_records(self._lines(blocks))
        # A byte-range shard reads on to finish its last line and skips into its first one: it accounts for
        # its own range, so that the shards of a file add up to the file.
        self._check_fields(final=True)
        ranged = self.shard.stop is not None and fmt == "jsonl"
        self.acct.bytes_read = self.shard.size if ranged else self.raw_read
        if self.shard.file.compression is None:
            self.acct.bytes_decoded = self.acct.bytes_read

    # -- line formats -------------------------------------------------------------------------------

    def _lines(self, blocks: bool = False) -> Iterator[Line | Block]:
        """The shard's lines, numbered from 1 (with `blocks`, runs of them as `Block`s: `iter_blocks`); a
        byte-range shard starts after the line it begins inside."""
        s = self.shard
        skip_first = False
        if s.start:
            with open(s.file.path, "rb") as fh:
                fh.seek(s.start - 1)
                skip_first = fh.read(1) != b"\n"  # that line belongs to the previous shard
        self._stream = ByteStream(s.file.path, s.file.compression, s.start)
        stop = None if s.stop is None else s.stop - s.start
        chunks = self._count_decoded(self._stream.chunks())
        if blocks:
            from harness.leakage import hashing

            opts = self.options
            counter = hashing._fastscan.count_lines
            yield from iter_blocks(chunks, opts.max_record_bytes, stop, skip_first, opts.block_bytes, counter)
            return
        lines = iter_lines(chunks, self.options.max_record_bytes, stop)
        if not skip_first:
            yield from lines
            return
        next(lines, None)  # the end of a line that the previous shard owns
        for line in lines:
            yield Line(line.number - 1, line.data, line.size, line.offset, line.complete)

    def _count_decoded(self, chunks: Iterator[bytes]) -> Iterator[bytes]:
        for chunk in chunks:
            self.acct.bytes_decoded += len(chunk)
            yield chunk

    def _cut_off(self, line: Line) -> bool:
        """Whether `line` is the unfinished end of a stream that broke off (truncated or corrupt)."""
        return not line.complete and self._stream is not None and self._stream.fault is not None

    def _stream_fault(self, line_no: int, record_no: int) -> None:
        fault = self._stream.fault if self._stream is not None else None
        if fault is not None:
            self.acct.fault(
                fault.reason,
                line_no,
                record_no,
                f"{fault.detail}; nothing after line {line_no - 1} could be read",
            )

    def _jsonl_records(self, lines: Iterator[Line | Block]) -> Iterator[Record | BlockBatch]:
        opts, acct = self.options, self.acct
        number = 0
        line_no = 0
        for line in lines:
            if isinstance(line, Block):
                batch = self._block(line, number)
                number = batch.next_record
                line_no = line.first + batch.n_lines - 1
                yield batch
                continue
            line_no = line.number
            acct.lines += 1
            if self._cut_off(line):
                acct.skip("truncated", number, line_no, "the file breaks off inside this record")
                number += 1
                self._stream_fault(line_no, number)
                return
            if line.data is None:
                acct.skip(
                    "record_too_large",
                    number,
                    line_no,
                    f"{line.size} bytes > max_record_bytes {opts.max_record_bytes}",
                )
                number += 1
                continue
            if not line.data.strip():
                acct.blank_lines += 1
                continue
            record = self._parse_json(line.data, number, line_no)
            if record is not None:
                yield record
            number += 1
        self._stream_fault(line_no + 1, number)

    def _block(self, block: Block, number: int) -> BlockBatch:
        """A block of lines through the compiled parser (`batches.parse_block`): the lines it reads are
        accounted for in bulk, the others (SLOW: anything but a plain valid object; TOO_LARGE) one by one,
        in order, exactly as `_jsonl_records` does for single lines."""
        opts, acct = self.options, self.acct
        keys = opts.block_keys
        assert keys is not False
        parsed = parse_block(
            block.data, keys, opts.min_chars, opts.max_record_bytes, opts.piece_chars, opts.profile_every
        )
        rows = parsed.lines
        status = rows[:, 2]
        n = status.size
        acct.lines += n
        nonblank = status != BLANK
        acct.blank_lines += n - int(np.count_nonzero(nonblank))
        records = number + np.cumsum(nonblank) - 1  # record number of each non-blank line
        line_numbers = block.first + np.arange(n)
        fast = status == FAST
        n_fast = int(np.count_nonzero(fast))
        slow: list[tuple[int, list[tuple[str, TextRef]]]] = []
        slow_records: list[tuple[int, Record]] = []
        counted = 0  # FAST lines already counted as field hits (before the slow line being read)
        special = np.flatnonzero(status >= SLOW)
        if special.size:
            fast_before = np.cumsum(fast) - fast
            for j in special.tolist():
                r, ln = int(records[j]), int(line_numbers[j])
                if opts.fields is not None:  # the --field check counts in line order
                    self._field_hits += int(fast_before[j]) - counted
                    counted = int(fast_before[j])
                lo, hi = int(rows[j, 0]), int(rows[j, 1])
                if status[j] == TOO_LARGE:
                    acct.skip(
                        "record_too_large",
                        r,
                        ln,
                        f"{hi - lo} bytes > max_record_bytes {opts.max_record_bytes}",
                    )
                    continue
                record = self._parse_json(block.data[lo:hi].tobytes(), r, ln)
                if record is not None:
                    slow_records.append((j, record))
                    slow.append((j, record_pieces(record, opts.piece_chars)))
        if opts.fields is not None:
            self._field_hits += n_fast - counted
        acct.records_read += n_fast
        return BlockBatch(
            block.data,
            parsed,
            slow,
            records,
            line_numbers,
            opts.fields,
            opts.min_chars,
            slow_records,
            number + int(np.count_nonzero(nonblank)),
        )

    def _parse_json(self, data: bytes, number: int, line_no: int | None) -> Record | None:
        try:
            value = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            fixed = repaired_utf8(data)
            if fixed is None:
                self.acct.skip("malformed_json", number, line_no, str(exc))
                return None
            text, detail = fixed
            try:
                value = orjson.loads(text)
            except orjson.JSONDecodeError as exc2:
                self.acct.skip("malformed_json", number, line_no, f"{detail}; and then: {exc2}")
                return None
            record = self._texts(value, number, line_no)
            if record is not None:
                self.acct.repair(REPLACED, number, line_no, detail)
            return record
        return self._texts(value, number, line_no)

    def _texts(self, value: Any, number: int, line_no: int | None) -> Record | None:
        opts = self.options
        texts, present = record_texts(value, opts.fields, opts.min_chars)
        if opts.fields is not None:
            if present:
                self._field_hits += 1
            else:
                self._field_misses += 1
                if self._first_keys is None:
                    keys = list(value)[:20] if isinstance(value, dict) else [type(value).__name__]
                    self._first_keys = (str(number), line_no, [str(k) for k in keys])
            self._check_fields(final=False)
        if not present:
            if opts.fields is None:
                self.acct.skip("no_text", number, line_no, "the record holds no string")
            else:
                wanted = ", ".join(f.text for f in opts.fields)
                self.acct.skip("missing_field", number, line_no, f"no string at {wanted}")
            return None
        self.acct.records_read += 1
        return Record(number, line_no, texts)

    def _check_fields(self, final: bool) -> None:
        """Raise FieldPathError when the --field paths are absent from every parsed record seen so far,
        after FIELD_CHECK_RECORDS of them (or at the end of a shorter shard)."""
        fields = self.options.fields
        if fields is None or not self.options.check_fields or self._field_hits or not self._field_misses:
            return
        if not final and self._field_misses < FIELD_CHECK_RECORDS:
            return
        wanted = ", ".join(f.text for f in fields)
        record, line, keys = self._first_keys or ("?", None, [])
        at = f"line {line}" if line is not None else f"record {record}"
        raise FieldPathError(
            f"{self.acct.file}: --field {wanted}: none of the first {self._field_misses:,} records has a "
            f"string there (the record at {at} has: {', '.join(keys) or 'nothing'}); "
            "check the field name (paths look like text, meta.title or messages[].content)"
        )

    def _paragraphs(self) -> Iterator[Record]:
        """Plain text: a record is a paragraph (lines up to a blank line), so that an item reformatted with
        single line breaks stays inside one record."""
        acct, limit = self.acct, self.options.max_record_bytes
        number = 0
        parts: list[bytes] = []
        size = 0
        first_line = 0
        too_large = False
        last_line = 0

        def flush() -> Record | None:
            nonlocal number, parts, size, too_large
            record = None
            if too_large:
                acct.skip("record_too_large", number, first_line, f"paragraph over max_record_bytes {limit}")
            else:
                data = b"\n".join(parts)
                try:
                    text = data.decode("utf-8")
                except UnicodeDecodeError:
                    text, detail = repaired_utf8(data) or ("", "")
                    acct.repair(REPLACED, number, first_line, detail)
                acct.records_read += 1
                record = Record(number, first_line, [("text", text)])
            number += 1
            parts, size, too_large = [], 0, False
            return record

        for line in self._lines():
            last_line = line.number
            acct.lines += 1
            if self._cut_off(line):
                if not parts and not too_large:
                    first_line = line.number
                acct.skip("truncated", number, first_line, "the file breaks off inside this paragraph")
                number += 1
                self._stream_fault(line.number, number)
                return
            if line.data is not None and not line.data.strip():
                acct.blank_lines += 1
                if parts or too_large:
                    rec = flush()
                    if rec is not None:
                        yield rec
                continue
            if not parts and not too_large:
                first_line = line.number
            if line.data is None or size + line.size > limit:
                too_large, parts = True, []
            else:
                parts.append(line.data.rstrip(b"\r"))
            size += line.size + 1
        if parts or too_large:
            rec = flush()
            if rec is not None:
                yield rec
        self._stream_fault(last_line + 1, number)

    def _json_records(self, blocks: bool = False) -> Iterator[Record | BlockBatch]:
        """A `.json` file: JSON Lines if its first line is a JSON value on its own, else one JSON document
        (an array of records, or one record), read whole if it fits in `max_record_bytes`."""
        s, limit = self.shard, self.options.max_record_bytes
        stream = ByteStream(s.file.path, s.file.compression)
        head = b""
        for line in iter_lines(self._count_decoded(stream.chunks()), limit):
            if line.data is not None and not line.data.strip():
                continue
            head = line.data or b""
            break
        is_lines = False
        if head:
            try:
                orjson.loads(head)
                is_lines = True
            except orjson.JSONDecodeError:
                is_lines = False
        self.acct.bytes_decoded = 0
        if is_lines or not head:
            yield from self._jsonl_records(self._lines(blocks))
            return
        self._stream = ByteStream(s.file.path, s.file.compression)
        data = bytearray()
        too_large = False
        for chunk in self._count_decoded(self._stream.chunks()):
            if len(data) + len(chunk) > limit:
                too_large = True
                continue  # keep reading to count bytes, not to keep them
            data += chunk
        if self._stream.fault is not None:
            self.acct.skip("truncated", 0, 1, "the file ends inside this JSON document")
            self.acct.fault(self._stream.fault.reason, None, 0, self._stream.fault.detail)
            return
        if too_large:
            self.acct.skip(
                "record_too_large",
                0,
                1,
                f"a JSON document over max_record_bytes {limit}: convert it to JSON Lines",
            )
            return
        repaired = None
        try:
            value = orjson.loads(bytes(data))
        except orjson.JSONDecodeError as exc:
            fixed = repaired_utf8(bytes(data))
            try:
                if fixed is None:
                    raise exc
                value = orjson.loads(fixed[0])
                repaired = fixed[1]
            except orjson.JSONDecodeError as exc2:
                self.acct.skip("malformed_json", 0, 1, f"not JSON Lines, and not one JSON document: {exc2}")
                return
        values = value if isinstance(value, list) else [value]
        for number, v in enumerate(values):
            record = self._texts(v, number, None)
            if record is not None:
                if repaired is not None:
                    self.acct.repair(REPLACED, number, None, repaired)
                yield record

    # -- table formats ------------------------------------------------------------------------------

    def _table_records(self) -> Iterator[Record]:
        import pyarrow as pa
        import pyarrow.parquet as pq

        s = self.shard
        number = 0
        try:
            if s.file.format == "parquet":
                pf = pq.ParquetFile(s.file.path)
                names = pf.schema_arrow.names
                groups = list(range(s.start, s.stop if s.stop is not None else pf.num_row_groups))
                columns = self._columns(names)
                batches = pf.iter_batches(batch_size=2048, row_groups=groups, columns=columns)
            else:
                source = pa.memory_map(s.file.path)
                try:
                    reader = pa.ipc.open_stream(source)
                except pa.ArrowInvalid:
                    reader = pa.ipc.open_file(source)
                    batches = (reader.get_batch(i) for i in range(reader.num_record_batches))
                else:
                    batches = iter(reader)
                columns = self._columns(reader.schema.names)
            for batch in batches:
                if columns is not None and s.file.format == "arrow":
                    batch = batch.select(columns)
                rows = batch.to_pylist() if batch.num_columns else [{}] * batch.num_rows
                for row in rows:
                    record = self._texts(row, number, None)
                    if record is not None:
                        yield record
                    number += 1
        except FieldPathError:
            raise
        except (OSError, pa.ArrowException, ValueError) as exc:
            self.acct.fault("unreadable", None, number, f"{type(exc).__name__}: {exc}")
        self._raw_done = s.size
        self.acct.bytes_decoded = s.size

    def _columns(self, names: list[str]) -> list[str] | None:
        fields = self.options.fields
        if fields is None:
            return None
        wanted = {f.steps[0] for f in fields if f.steps and isinstance(f.steps[0], str)}
        return [n for n in names if n in wanted]


def record_pieces(record: Record, piece_chars: int) -> list[tuple[str, TextRef]]:
    """A record's texts as the matcher takes them: each with its place, long ones cut into pieces."""
    out = []
    for name, text in record.texts:
        if len(text) <= piece_chars:
            out.append((text, TextRef(record.number, record.line, name, 0)))
            continue
        for base, piece in pieces(text, piece_chars):
            out.append((piece, TextRef(record.number, record.line, name, base)))
    return out


def repaired_utf8(data: bytes) -> tuple[str, str] | None:
    """`data` decoded with replacement and what was replaced, or None when it is valid UTF-8 already."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        text = data.decode("utf-8", "replace")
        bad = text.count("\ufffd") - data.count("\ufffd".encode())  # replacements, not genuine U+FFFD
        where = f"byte {exc.start}: {data[exc.start : exc.start + 4]!r}"
        return text, f"{bad} invalid UTF-8 sequence(s) replaced by U+FFFD (first at {where})"
    return None
