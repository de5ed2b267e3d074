"""What the matcher takes: a batch of texts, folded (`normalize.fold_bytes`) and joined by one separator byte,
with a way back from each text to its string and its place in the input.

Two kinds, one interface (`data`, `text_start`, `text(i)`, `ref(i)`):
- `ListBatch`: texts given as strings (Parquet, Arrow, plain text, one JSON document, and JSON Lines when
  the compiled core is not built): each is folded in Python.
- `BlockBatch`: a block of JSON Lines read by the compiled parser (`_jsonlines.c`): the common lines' texts
  arrive already decoded and joined in one buffer, with no per-record Python; the lines the parser leaves
  to the exact per-record reader (`readers.ShardReader`) come as records and are folded and spliced in at
  their place, as are the parser's texts with non-ASCII letters (folded by `fold_bytes`). A text's string
  and field name are only needed where something was found: they are read back from the line then
  (orjson, `fields.record_texts`), the same way the per-record reader reads them.
Either way, text i of a batch is the same string, in the same order, as the per-record path gives; the
reference test (tests/leakage/test_fastscan.py) holds leakage.json equal.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import xxhash

from harness.leakage.fields import FieldPath, record_texts
from harness.leakage.matcher import COMPANION_WINDOW
from harness.leakage.normalize import fold_bytes
from harness.leakage.profile import CorpusProfile

OVERLAP_WORDS = 2 * COMPANION_WINDOW + 64  # words shared by consecutive pieces of a long text
_SPACE_RE = re.compile(r"\s+")

# Line status and text flags of the compiled parser (`_jsonlines.c`).
FAST, BLANK, SLOW, TOO_LARGE = 0, 1, 2, 3
ASCII, FOLDED, OTHER = 0, 1, 2


@dataclass(frozen=True)
class TextRef:
    """Where a text of a batch comes from."""

    record: int  # 0-based record number within the shard
    line: int | None  # 1-based line within the shard (None for Parquet/Arrow)
    field: str  # field path ("text", "messages[1].content")
    base: int  # character offset of this text (a piece of a long string) in the field's string


class TextBatch(Protocol):
    data: bytes  # folded texts joined by one separator byte
    text_start: np.ndarray  # int64, n_texts + 1: text t is data[text_start[t] : text_start[t + 1] - 1]

    def __len__(self) -> int: ...

    def text(self, i: int) -> str: ...

    def ref(self, i: int) -> TextRef: ...


def pieces(text: str, piece_chars: int) -> Iterator[tuple[int, str]]:
    """(offset, piece) of a text, cut at whitespace into pieces of about `piece_chars` characters that
    overlap by `OVERLAP_WORDS` words, so that every match of up to that many words lies whole in a piece."""
    if len(text) <= piece_chars:
        yield 0, text
        return
    start = 0
    while True:
        end = start + piece_chars
        if end >= len(text):
            yield start, text[start:]
            return
        cut = max(
            text.rfind(" ", start + piece_chars // 2, end), text.rfind("\n", start + piece_chars // 2, end)
        )
        end = cut if cut > start else end
        yield start, text[start:end]
        # The next piece starts OVERLAP_WORDS words before the cut (or 64K characters, for absurd words).
        tail_from = max(start + 1, end - 65536)
        gaps = [m.end() for m in _SPACE_RE.finditer(text, tail_from, end)]
        back = gaps[-OVERLAP_WORDS] if len(gaps) >= OVERLAP_WORDS else tail_from
        start = max(start + 1, back)


def joined(encoded: Sequence[bytes]) -> tuple[bytes, np.ndarray]:
    """Folded texts joined by a space, and their start offsets (plus len + 1)."""
    text_start = np.zeros(len(encoded) + 1, dtype=np.int64)
    if encoded:
        np.cumsum([len(e) + 1 for e in encoded], out=text_start[1:])
    return b" ".join(encoded), text_start


class ListBatch:
    """Texts given as strings, folded here."""

    def __init__(self, texts: list[str], refs: list[TextRef]) -> None:
        self.texts = texts
        self.refs = refs
        self.data, self.text_start = joined([fold_bytes(t) for t in texts])

    def __len__(self) -> int:
        return len(self.texts)

    def text(self, i: int) -> str:
        return self.texts[i]

    def ref(self, i: int) -> TextRef:
        return self.refs[i]


@dataclass
class ParsedBlock:
    """The compiled parser's output for one block (see `_jsonlines.c`)."""

    probe: bytes  # the FAST lines' texts, each followed by a newline (folded where the parser can)
    raw: bytes | None  # --profile: the sampled records whose probe bytes were folded, as they were
    lines: np.ndarray  # (n_lines, 4) int64: start, end (in the block, without the newline), status, n_texts
    texts: np.ndarray  # (n_texts, 4) int64: start, end (in probe), flag, 0
    raw_at: np.ndarray | None = None  # int64 per line: where its record text starts in raw, or -1
    rec_hash: np.ndarray | None = None  # uint64 per line: XXH3-64 of a FAST line's record text


def parse_block(
    data: bytes,
    keys: tuple[bytes, ...] | None,
    min_chars: int,
    max_line: int,
    max_text: int,
    sample_every: int = 0,
) -> ParsedBlock:
    from harness.leakage import hashing  # the compiled core lives there (None when not built)

    probe, raw, lines, texts, raw_at, rec_hash = hashing._fastscan.parse_jsonl(
        data, keys, min_chars, max_line, max_text, sample_every, fold_table_usable()
    )
    return ParsedBlock(
        probe,
        raw,
        np.frombuffer(lines, dtype=np.int64).reshape(-1, 4),
        np.frombuffer(texts, dtype=np.int64).reshape(-1, 4),
        np.frombuffer(raw_at, dtype=np.int64) if raw_at is not None else None,
        np.frombuffer(rec_hash, dtype=np.uint64) if rec_hash is not None else None,
    )


_TABLE: list[bool] = []


def fold_table_usable() -> bool:
    """Whether the compiled parser's fold table (scripts/gen_fold_table.py) was made from this Python's
    Unicode version; if not, it folds only the common separators itself and leaves other text to
    `normalize.fold_bytes`."""
    if not _TABLE:
        import unicodedata

        from harness.leakage import hashing

        _TABLE.append(hashing._fastscan.fold_table()[0] == unicodedata.unidata_version)
    return _TABLE[0]


def parser_keys(fields: Sequence[FieldPath] | None) -> tuple[bytes, ...] | bool | None:
    """The parser's `keys` for these --field paths: None for every string field, a tuple of top-level keys,
    or False when the paths need the per-record reader (nested paths, list steps, repeats, over 32)."""
    if fields is None:
        return None
    keys = []
    for f in fields:
        if len(f.steps) != 1 or not isinstance(f.steps[0], str):
            return False
        keys.append(f.steps[0].encode("utf-8"))
    if len(set(keys)) != len(keys) or len(keys) > 32:
        return False
    return tuple(keys)


class BlockBatch:
    """A block of JSON Lines as one batch: the parser's texts, with the per-record reader's records (`slow`:
    (line index, [(text, ref), ...]) in line order, texts already cut into pieces) spliced in at their
    lines, and texts with non-ASCII letters folded here."""

    def __init__(
        self,
        block: bytes,
        parsed: ParsedBlock,
        slow: list[tuple[int, list[tuple[str, TextRef]]]],
        records: np.ndarray,
        lines: np.ndarray,
        fields: Sequence[FieldPath] | None,
        min_chars: int,
        slow_records: list[Any] | None = None,
        next_record: int = 0,
    ) -> None:
        self.slow_records = (
            slow_records or []
        )  # the per-record reader's records (readers.Record), for --profile
        self.next_record = next_record  # the record number after the block's last
        self.n_lines = parsed.lines.shape[0]
        self.block = block
        self.parsed = parsed
        self.records = records  # record number of each line of the block (valid for non-blank lines)
        self.line_numbers = lines  # line number of each line of the block
        self.fields = fields
        self.min_chars = min_chars
        rows = parsed.texts
        per_line = parsed.lines[:, 3]
        self.line_of = np.repeat(np.arange(per_line.size), per_line)  # line of each parser text
        self.first_text = np.concatenate(([0], np.cumsum(per_line)))  # first parser text of each line
        self.extra: list[tuple[str, TextRef]] = []  # texts given as strings (src < 0)
        self._line_texts: dict[int, list[tuple[str, str]]] = {}  # texts read back from a line
        other = np.flatnonzero(rows[:, 2] == OTHER)
        starts, ends = rows[:, 0], rows[:, 1]
        probe = parsed.probe
        if not slow and other.size == 0:  # the common case: the parser's buffer is the batch
            self.data = probe
            self.text_start = np.append(starts, len(probe) + 1).astype(np.int64)
            self.src = None
            return
        # Events in text order: a slow line's texts go in before the parser text that follows the line; a
        # text with non-ASCII letters is replaced by its fold.
        events: list[
            tuple[int, int, list[bytes]]
        ] = []  # (parser text position, 0 insert / 1 replace, folded)
        for j, items in slow:
            if items:
                pos = int(self.first_text[j])
                folded = []
                for text, ref in items:
                    folded.append(fold_bytes(text))
                    self.extra.append((text, ref))
                events.append((pos, 0, folded))
        for i in other.tolist():
            text = probe[starts[i] : ends[i]].decode("utf-8")
            events.append((i, 1, [fold_bytes(text)]))
        events.sort(key=lambda e: (e[0], e[1]))
        pieces: list[bytes] = []
        lens: list[np.ndarray] = []
        src: list[np.ndarray] = []
        cur = 0
        extra = 0
        n = rows.shape[0]
        for pos, kind, folded in events:
            if pos > cur:
                pieces.append(probe[starts[cur] : ends[pos - 1]])
                lens.append(ends[cur:pos] - starts[cur:pos])
                src.append(np.arange(cur, pos))
            pieces.extend(folded)
            lens.append(np.array([len(f) for f in folded], dtype=np.int64))
            if kind == 0:
                src.append(-1 - np.arange(extra, extra + len(folded)))
                extra += len(folded)
                cur = pos
            else:
                src.append(np.array([pos]))
                cur = pos + 1
        if cur < n:
            pieces.append(probe[starts[cur] : ends[n - 1]])
            lens.append(ends[cur:n] - starts[cur:n])
            src.append(np.arange(cur, n))
        self.data = b"\n".join(pieces)
        sizes = np.concatenate(lens) if lens else np.empty(0, np.int64)
        self.text_start = np.zeros(sizes.size + 1, dtype=np.int64)
        np.cumsum(sizes + 1, out=self.text_start[1:])
        self.src = np.concatenate(src).astype(np.int64) if src else np.empty(0, np.int64)

    def __len__(self) -> int:
        return self.text_start.size - 1

    def _parser_text(self, f: int) -> tuple[str, str, int]:
        """(field, text, line index) of parser text f, read back from its line as the per-record reader
        reads it."""
        import orjson

        j = int(self.line_of[f])
        got = self._line_texts.get(j)
        if got is None:
            lo, hi = int(self.parsed.lines[j, 0]), int(self.parsed.lines[j, 1])
            got = self._line_texts[j] = record_texts(
                orjson.loads(self.block[lo:hi]), self.fields, self.min_chars
            )[0]
        ordinal = f - int(self.first_text[j])
        if ordinal >= len(got):
            raise RuntimeError(f"the compiled JSON Lines parser and record_texts disagree on line {j}")
        field, text = got[ordinal]
        return field, text, j

    def text(self, i: int) -> str:
        s = i if self.src is None else int(self.src[i])
        return self._parser_text(s)[1] if s >= 0 else self.extra[-1 - s][0]

    def ref(self, i: int) -> TextRef:
        s = i if self.src is None else int(self.src[i])
        if s < 0:
            return self.extra[-1 - s][1]
        field, _, j = self._parser_text(s)
        return TextRef(int(self.records[j]), int(self.line_numbers[j]), field, 0)

    def profile_into(self, profile: CorpusProfile, text_of: Callable[[Any], str]) -> None:
        """Add the block's records to a --profile, in record order: the parser's with the hash and length it
        computed (their text is only read back for the sampled ones), the per-record reader's through
        `text_of` (a record's text)."""
        parsed = self.parsed
        if parsed.rec_hash is None or parsed.raw_at is None or parsed.raw is None:
            raise ValueError("the block was parsed without a profile sample rate")
        lines, rows = parsed.lines, parsed.texts
        fast = np.flatnonzero(lines[:, 2] == FAST)
        first, count = self.first_text[fast], lines[fast, 3]
        has = count > 0
        lo = np.zeros(fast.size, np.int64)
        hi = np.zeros(fast.size, np.int64)
        lo[has] = rows[first[has], 0]
        hi[has] = rows[first[has] + count[has] - 1, 1]
        hashes, lengths = parsed.rec_hash[fast], hi - lo
        raw_at = parsed.raw_at[fast]
        probe, raw = parsed.probe, parsed.raw
        slow = [(j, text_of(record).encode("utf-8", "surrogatepass")) for j, record in self.slow_records]

        def fast_text(k: int) -> bytes:
            if raw_at[k] >= 0:  # folded in the probe: the parser kept it as it was
                return raw[raw_at[k] : raw_at[k] + lengths[k]]
            return probe[lo[k] : hi[k]]

        if not slow:
            profile.add_hashed(hashes, lengths, fast_text)
            return
        at = np.concatenate((fast, np.array([j for j, _ in slow], dtype=np.int64)))
        order = np.argsort(at, kind="stable")  # record order
        slow_hashes = np.array([xxhash.xxh3_64_intdigest(t) for _, t in slow], dtype=np.uint64)
        all_hashes = np.concatenate((hashes, slow_hashes))[order]
        all_lengths = np.concatenate((lengths, np.array([len(t) for _, t in slow], dtype=np.int64)))[order]
        n_fast = fast.size

        def text(i: int) -> bytes:
            k = int(order[i])
            return fast_text(k) if k < n_fast else slow[k - n_fast][1]

        profile.add_hashed(all_hashes, all_lengths, text)
