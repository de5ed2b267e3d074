"""Read benchmark files of any supported container into (line, record) pairs.

Line numbers are 1-based physical lines for text formats and 1-based rows for Parquet, so an
error can point a user at the exact place to look.
"""

from __future__ import annotations

import bz2
import csv
import gzip
import io
import lzma
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import orjson

from harness.data.errors import DataError
from harness.records.files import COMPRESSIONS, compression_of, strip_compression

TABLE_SUFFIXES = (".jsonl", ".json", ".parquet", ".csv", ".txt", ".arrow")


def file_format(path: Path) -> str:
    """The container format ('jsonl', 'json', 'parquet', 'csv', 'txt') from the file name."""
    base = strip_compression(path.name.lower())
    for suffix in TABLE_SUFFIXES:
        if base.endswith(suffix):
            return suffix[1:]
    raise DataError(
        f"unsupported file type; expected one of {', '.join(TABLE_SUFFIXES)} (optionally {', '.join(COMPRESSIONS)})",
        path=path,
    )


def open_binary(path: Path) -> IO[bytes]:
    """Open a possibly compressed file for reading bytes (the codec from its suffix)."""
    codec = compression_of(path.name)
    if codec == "gz":
        return gzip.open(path, "rb")
    if codec == "bz2":
        return bz2.open(path, "rb")
    if codec == "xz":
        return lzma.open(path, "rb")
    if codec == "zst":
        import zstandard

        return zstandard.ZstdDecompressor().stream_reader(open(path, "rb"), closefd=True)
    return open(path, "rb")


def read_bytes(path: Path) -> bytes:
    """All (decompressed) bytes of a file; a truncated or corrupt archive is a DataError."""
    try:
        with open_binary(path) as handle:
            return handle.read()
    except (OSError, EOFError, lzma.LZMAError, ValueError) as exc:
        raise DataError(f"cannot read (truncated or corrupt file?): {exc}", path=path) from exc
    except Exception as exc:  # zstandard raises its own ZstdError
        if type(exc).__name__ == "ZstdError":
            raise DataError(f"cannot read (truncated or corrupt file?): {exc}", path=path) from exc
        raise


def decode_text(data: bytes, path: Path, encoding: str = "utf-8") -> str:
    """Decode bytes, naming the line of the first undecodable byte."""
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise DataError(
            f"not valid {encoding} at byte {exc.start} ({exc.reason}); pass the file's encoding if it is "
            "not UTF-8",
            path=path,
            line=line,
        ) from exc


def iter_records(path: Path, encoding: str = "utf-8") -> Iterator[tuple[int, Any]]:
    """Yield (line or row number, record) for JSONL, JSON, Parquet, CSV and Arrow files.

    CSV records are lists of cells when the file has no recognised header, else dicts.
    """
    fmt = file_format(path)
    if fmt == "parquet":
        yield from _iter_parquet(path)
        return
    if fmt == "arrow":
        import pyarrow as pa

        with pa.memory_map(str(path)) as source:
            try:
                table = pa.ipc.open_stream(source).read_all()
            except pa.ArrowInvalid:
                table = pa.ipc.open_file(source).read_all()
        for i, rec in enumerate(table.to_pylist(), start=1):
            yield i, rec
        return
    text = decode_text(read_bytes(path), path, encoding)
    if fmt == "jsonl" or (fmt == "json" and not text.lstrip().startswith(("[", '{"data"'))):
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                yield number, orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                raise DataError(f"invalid JSON: {exc}", path=path, line=number) from exc
        return
    if fmt == "json":
        try:
            data = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            raise DataError(f"invalid JSON: {exc}", path=path) from exc
        records = data["data"] if isinstance(data, dict) else data
        if not isinstance(records, list):
            raise DataError("expected a JSON array of records", path=path)
        for i, rec in enumerate(records, start=1):
            yield i, rec
        return
    if fmt == "csv":
        yield from _iter_csv(text, path)
        return
    raise DataError("plain-text files are only read as HellaSwag's 6-line format", path=path)


def _iter_parquet(path: Path) -> Iterator[tuple[int, Any]]:
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except Exception as exc:
        raise DataError(f"cannot read Parquet (truncated or corrupt?): {exc}", path=path) from exc
    yield from enumerate(table.to_pylist(), start=1)


def _iter_csv(text: str, path: Path) -> Iterator[tuple[int, Any]]:
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") and "question" in first.lower() else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header: list[str] | None = None
    try:
        for row in reader:
            if not row or not any(cell.strip() for cell in row):
                continue
            line = reader.line_num
            if header is None and "question" in [c.strip().lower() for c in row]:
                header = [c.strip().lower() for c in row]
                continue
            if header is None:
                yield line, row
            else:
                yield line, {h: v for h, v in zip(header, row, strict=False) if h}
    except csv.Error as exc:
        raise DataError(f"malformed CSV: {exc}", path=path, line=reader.line_num) from exc
