"""Byte streams of input files: decompression that notices a truncated or corrupt file, and line splitting
in bounded memory.

Why not `gzip.open` / `zstandard`'s stream reader: `gzip` drops the output of the read call that meets a
truncated end, and `zstandard.ZstdDecompressor().stream_reader` ends a truncated frame silently, as if the
file were complete. Here each codec's incremental decompressor (zlib, zstandard, bz2, lzma) is fed by hand,
so every byte that can be decoded is, and the end of the input is checked against the end of the last
frame: a file cut short is reported, never read as a shorter complete file.
"""

from __future__ import annotations

import bz2
import lzma
import zlib
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

import zstandard

READ_BYTES = 1 << 20  # compressed bytes read at a time
OUT_BYTES = 4 << 20  # most decompressed bytes produced per step (bounds memory on highly compressed input)


@dataclass
class StreamFault:
    reason: str  # "truncated" | "corrupt"
    detail: str


class ByteStream:
    """Decompressed chunks of one file from byte `start` (uncompressed files only) to its end.

    After iteration, `fault` says whether the input ended early or held undecodable data; `raw_read`
    counts the file's bytes consumed so far (for progress and accounting).
    """

    def __init__(self, path: str, compression: str | None, start: int = 0) -> None:
        if compression and start:
            raise ValueError("a compressed file can only be read from its start")
        self.path = path
        self.compression = compression
        self.start = start
        self.raw_read = 0
        self.fault: StreamFault | None = None

    def chunks(self) -> Iterator[bytes]:
        with open(self.path, "rb") as fh:
            if self.start:
                fh.seek(self.start)
            if self.compression is None:
                while chunk := fh.read(OUT_BYTES):
                    self.raw_read += len(chunk)
                    yield chunk
                return
            yield from self._decompress(fh)

    def _new(self) -> Any:
        if self.compression == "gz":
            return zlib.decompressobj(zlib.MAX_WBITS | 32)  # gzip or zlib header, detected
        if self.compression == "zst":
            return zstandard.ZstdDecompressor().decompressobj()
        if self.compression == "bz2":
            return bz2.BZ2Decompressor()
        if self.compression == "xz":
            return lzma.LZMADecompressor()
        raise ValueError(f"unknown compression {self.compression!r}")

    def _bounded(self, dec: Any, data: bytes) -> tuple[bytes, bytes, bool]:
        """One decompression step: (output, input still to feed, whether output is still pending)."""
        if self.compression == "zst":
            # zstandard's decompressobj has no output bound: feed it small pieces instead.
            return dec.decompress(data[: 1 << 16]), data[1 << 16 :], False
        if self.compression == "gz":
            out = dec.decompress(data, OUT_BYTES)
            return out, b"" if dec.eof else dec.unconsumed_tail, False  # after eof, unused_data has it
        out = dec.decompress(data, max_length=OUT_BYTES)  # bz2 and lzma keep unfed input inside
        return out, b"", not dec.eof and not dec.needs_input

    def _decompress(self, fh: BinaryIO) -> Iterator[bytes]:
        errors = (zlib.error, zstandard.ZstdError, OSError, EOFError, lzma.LZMAError, ValueError)
        dec = self._new()
        fed = False  # whether the current frame (gzip member, zstd frame, ...) has had any input
        while data := fh.read(READ_BYTES):
            self.raw_read += len(data)
            more = True
            while data or more:
                try:
                    out, data, more = self._bounded(dec, data)
                except errors as exc:
                    self.fault = StreamFault("corrupt", f"undecodable {self.compression} data: {exc}")
                    return
                fed = True
                if out:
                    yield out
                if dec.eof:
                    data = dec.unused_data + data
                    if self.compression == "gz":
                        data = data.lstrip(b"\0")  # zero padding after the last gzip member
                    dec, fed, more = self._new(), False, False
        if self.compression == "gz" and fed and not dec.eof:
            try:
                tail = dec.flush()
            except errors:
                tail = b""
            if tail:
                yield tail
        if fed and not dec.eof:
            self.fault = StreamFault(
                "truncated", f"the {self.compression} stream ends before its last frame does"
            )
        elif self.raw_read == 0:
            self.fault = StreamFault("truncated", f"the file is empty: no {self.compression} stream at all")


@dataclass
class Line:
    number: int  # 1-based, counted from the stream's first line
    data: bytes | None  # None when the line is longer than the limit (its bytes were not kept)
    size: int  # bytes, without the newline
    offset: int  # byte offset of the line's start from the stream's start
    complete: bool = True  # False for a last line that has no newline


def iter_lines(chunks: Iterator[bytes], max_bytes: int, stop: int | None = None) -> Iterator[Line]:
    """Split a chunk stream into lines in memory bounded by `max_bytes` per line.

    A line longer than `max_bytes` is yielded with `data=None` (skipped by the caller, and counted).
    With `stop`, lines starting at or after byte `stop` are not yielded (byte-range shards).
    A last line without a newline is yielded as it is.
    """
    number = 0
    pos = 0  # stream offset of the next unread byte
    pending: list[bytes] = []
    pending_size = 0
    line_start = 0
    oversize = False
    for chunk in chunks:
        parts = chunk.split(b"\n")
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            if not oversize:
                if pending_size + len(part) > max_bytes:
                    oversize = True
                    pending, pending_size = [], pending_size + len(part)
                else:
                    pending.append(part)
                    pending_size += len(part)
            else:
                pending_size += len(part)
            pos += len(part)
            if last:
                break
            pos += 1  # the newline
            if stop is not None and line_start >= stop:
                return
            number += 1
            data = None if oversize else (pending[0] if len(pending) == 1 else b"".join(pending))
            yield Line(number, data, pending_size, line_start)
            pending, pending_size, oversize = [], 0, False
            line_start = pos
    if pending_size or oversize:
        if stop is not None and line_start >= stop:
            return
        number += 1
        data = None if oversize else b"".join(pending)
        yield Line(number, data, pending_size, line_start, complete=False)


def _cuts(data: bytes, lo: int, hi: int, block_bytes: int | None) -> Iterator[tuple[int, int]]:
    """Ranges of about `block_bytes` that end at a newline, covering data[lo:hi] (which ends with one)."""
    while lo < hi:
        end = hi
        if block_bytes is not None and hi - lo > block_bytes:
            end = data.rfind(b"\n", lo, lo + block_bytes) + 1 or data.find(b"\n", lo + block_bytes, hi) + 1
        yield lo, end
        lo = end


@dataclass
class Block:
    """Complete lines, read in bulk: every line of `data` ends with a newline (the compiled JSON Lines
    parser splits them); `first` is the number of its first line, `offset` its stream offset."""

    data: memoryview
    first: int
    offset: int


def iter_blocks(
    chunks: Iterator[bytes],
    max_bytes: int,
    stop: int | None = None,
    skip_first: bool = False,
    block_bytes: int | None = None,
    count_lines: Callable[[bytes, int, int], int] | None = None,
) -> Iterator[Block | Line]:
    """The lines of `iter_lines`, in bulk: runs of complete lines as `Block`s (of about `block_bytes`, or one
    per chunk, cut at a newline), and as single `Line`s only what a block cannot hold: a line over
    `max_bytes` that runs across chunks (`data=None`, its bytes not kept) and a last line without a newline.

    Flattened (each block split at its newlines, a line in a block longer than `max_bytes` read as
    `data=None`), the output is exactly `iter_lines(chunks, max_bytes, stop)`; with `skip_first`, the same
    without its first line and numbered from 1 (a byte-range shard's first line belongs to the previous
    shard). tests/leakage/test_streams.py holds the two equal on arbitrary chunkings. Blocks are views
    of the chunks (no copy); `count_lines(data, start, end)` counts newlines (default: `bytes.count`).
    """
    count = count_lines or (lambda d, lo, hi: d.count(b"\n", lo, hi))
    number = 0  # lines yielded so far
    chunk_pos = 0  # stream offset of the current chunk
    carry: list[bytes] = []  # the start of a line that has no newline yet (not kept when oversize)
    carry_size = 0
    oversize = False
    line_start = 0  # stream offset of the carried line
    drop = skip_first

    def single(data: bytes | None, size: int, complete: bool) -> Iterator[Line]:
        nonlocal number, drop
        if drop:
            drop = False
            return
        number += 1
        yield Line(number, data, size, line_start, complete)

    def lines_of(data: bytes, lo: int, hi: int, start: int) -> Generator[Block, None, bool]:
        """Blocks of the complete lines data[lo:hi] (first line at stream offset `start`), as views; returns
        whether the shard's end (`stop`) was reached."""
        nonlocal number, drop
        if drop:  # the first line belongs to the previous shard
            drop = False
            nl = data.find(b"\n", lo, hi)
            start += nl + 1 - lo
            lo = nl + 1
        cut = False
        if stop is not None:
            if lo < hi and start >= stop:
                return True
            if start + (hi - lo) > stop:  # lines starting at or after `stop` belong to the next shard
                hi = data.find(b"\n", lo + stop - start - 1, hi) + 1
                cut = True
        view = memoryview(data)
        for a, b in _cuts(data, lo, hi, block_bytes):
            yield Block(view[a:b], number + 1, start + a - lo)
            number += count(data, a, b)
        return cut

    for chunk in chunks:
        at = 0  # first byte of this chunk not yet given out
        if carry_size or oversize:  # a line started in an earlier chunk
            nl = chunk.find(b"\n")
            if nl < 0:
                carry_size += len(chunk)
                if not oversize and carry_size > max_bytes:
                    carry, oversize = [], True
                elif not oversize:
                    carry.append(chunk)
                chunk_pos += len(chunk)
                continue
            if oversize or carry_size + nl > max_bytes:
                if stop is not None and line_start >= stop:
                    return
                yield from single(None, carry_size + nl, True)
            else:  # the carried line, now complete: a block of its own (the chunk is not copied)
                whole = b"".join([*carry, chunk[: nl + 1]])
                if (yield from lines_of(whole, 0, len(whole), line_start)):
                    return
            carry, carry_size, oversize = [], 0, False
            at = nl + 1
            line_start = chunk_pos + at
        last = chunk.rfind(b"\n", at)
        if last >= at:
            if (yield from lines_of(chunk, at, last + 1, chunk_pos + at)):
                return
            at = last + 1
            line_start = chunk_pos + at
        rest = len(chunk) - at  # the start of a line
        if rest > max_bytes:
            oversize = True
        elif rest:
            carry.append(chunk[at:] if at else chunk)
        carry_size = rest
        chunk_pos += len(chunk)
    if carry_size or oversize:
        if stop is not None and line_start >= stop:
            return
        yield from single(None if oversize else b"".join(carry), carry_size, False)
