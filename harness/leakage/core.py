"""One shard, start to finish: records in, per-item findings out. The engines only decide where shards run.

The shape is datatrove's (a reader step, a matching step, an accumulating step over a stream of batches),
folded into one function because a shard is the unit an engine ships: `scan_shard` reads the shard's
records (`readers`) as batches (`batches`: JSON Lines a block at a time through the compiled parser, with
no per-record Python for ordinary lines; other formats record by record, grouped into batches of about
`batch_chars` characters), matches each batch against the index (`matcher.match_folded`, pure), and
accumulates per item: the longest run, whether any text qualified (dirty), in how many records it was
found, and its first place with an excerpt and a rapidfuzz similarity. Texts longer than `piece_chars` are
scanned in overlapping pieces, so memory stays bounded by the batch size whatever a record holds.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from harness.leakage.batches import (
    OVERLAP_WORDS,
    BlockBatch,
    ListBatch,
    TextBatch,
    TextRef,
    parser_keys,
    pieces,
)
from harness.leakage.fields import FieldPath, parse_field
from harness.leakage.index import TestIndex
from harness.leakage.inputs import Shard
from harness.leakage.matcher import Evidence, match_folded
from harness.leakage.normalize import char_offset, word_bytes
from harness.leakage.profile import SAMPLE_EVERY, CorpusProfile
from harness.leakage.readers import (
    DEFAULT_MAX_RECORD_BYTES,
    Accounting,
    ReadOptions,
    Record,
    ShardReader,
    record_pieces,
)
from harness.leakage.rephrase import RephraseIndex, find_rephrased

_REPHRASE_INDEXES: dict[str, RephraseIndex] = {}


def rephrase_index(index: TestIndex) -> RephraseIndex:
    """The rephrase stage's index for `index`, built once per process (a second or two)."""
    key = index.fingerprint()
    if key not in _REPHRASE_INDEXES:
        _REPHRASE_INDEXES.clear()
        _REPHRASE_INDEXES[key] = RephraseIndex.build(index)
    return _REPHRASE_INDEXES[key]


EXCERPT_BEFORE = 200  # characters of training text kept before a match
EXCERPT_MAX = 1200  # characters of training text kept in all
__all__ = ["OVERLAP_WORDS", "Finding", "Place", "ScanOptions", "ShardResult", "pieces", "scan_shard"]


@dataclass(frozen=True)
class ScanOptions:
    """How shards are read and batched (the matching rule itself lives in the index)."""

    fields: tuple[str, ...] | None = None
    max_record_bytes: int = DEFAULT_MAX_RECORD_BYTES
    strict: bool = False
    batch_chars: int = 1 << 20  # also the bytes of JSON Lines per block
    piece_chars: int = 1 << 20
    blocks: bool = True  # JSON Lines through the compiled block parser where it applies (`block_keys`)
    profile: bool = False  # also measure the corpus profile (`profile.CorpusProfile`)
    rephrased: bool = False  # also run the rephrased-item stage (`rephrase.find_rephrased`)


@dataclass
class Place:
    """Where an item was found: a position in the training data and what the text says there."""

    record: int  # 0-based record number (within the shard until `results` makes it absolute)
    line: int | None  # 1-based line (same), None for Parquet/Arrow
    field: str  # the record's field path ("text", "messages[1].content")
    offset: int  # character offset of the first matched word in that field's string
    words: int  # matched words
    segment: str  # which part of the item matched ("question", "answer", "choices[2]", ...)
    excerpt: str
    excerpt_offset: int  # character offset of the excerpt's start in the field's string
    similarity: float  # rapidfuzz partial_ratio of that item part against the training text there
    qualifying: bool


@dataclass
class Finding:
    """One item within one shard."""

    longest: int = 0
    dirty: bool = False
    records: int = 0  # records in which the item was matched
    dirty_records: int = 0  # records with a qualifying match
    place: Place | None = None  # first qualifying place, or the first place when none qualifies


@dataclass
class Rephrased:
    """One item's rephrased matches within one shard: the best-scoring place, and how many records."""

    score: float
    numbers_in_order: float | None
    numbers_present: bool | None
    shared_words: int
    records: int
    record: int
    line: int | None
    field: str
    offset: int
    excerpt: str
    excerpt_offset: int


@dataclass
class ShardResult:
    shard: Shard
    units: np.ndarray  # unit ids found in the shard (sorted, unique)
    findings: dict[int, Finding]  # item position in the index -> finding
    accounting: Accounting
    words: int = 0
    timing: dict[str, Any] = field(default_factory=dict)
    profile: CorpusProfile | None = None
    rephrased: dict[int, Rephrased] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "shard": self.shard.to_dict(),
            "units": self.units.tolist(),
            "findings": {str(k): asdict(v) for k, v in sorted(self.findings.items())},
            "accounting": self.accounting.to_dict(),
            "words": self.words,
            "timing": self.timing,
            "profile": self.profile.to_dict() if self.profile is not None else None,
            "rephrased": {str(k): asdict(v) for k, v in sorted(self.rephrased.items())}
            if self.rephrased is not None
            else None,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ShardResult:
        shard = Shard.from_dict(d["shard"])
        findings = {}
        for k, v in d["findings"].items():
            place = Place(**v["place"]) if v.get("place") else None
            findings[int(k)] = Finding(**{**v, "place": place})
        return cls(
            shard=shard,
            units=np.asarray(d["units"], dtype=np.int64),
            findings=findings,
            accounting=Accounting.from_dict(shard.file.name, d["accounting"]),
            words=int(d["words"]),
            timing=dict(d.get("timing") or {}),
            profile=CorpusProfile.from_dict(d["profile"]) if d.get("profile") else None,
            rephrased={int(k): Rephrased(**v) for k, v in d["rephrased"].items()}
            if d.get("rephrased") is not None
            else None,
        )


def scan_shard(
    shard: Shard,
    index: TestIndex,
    options: ScanOptions,
    progress: Callable[[int], None] | None = None,
) -> ShardResult:
    """Scan one shard (see the module docstring). `progress` gets input bytes consumed, in increments."""
    t0, c0 = time.monotonic(), time.process_time()
    fields = tuple(parse_field(f) for f in options.fields) if options.fields else None
    first = shard.file_index == 0 and shard.part == 0
    keys = block_keys(fields, options)
    reader = ShardReader(
        shard,
        ReadOptions(
            fields,
            options.max_record_bytes,
            2 * index.floor - 1,  # shortest string that can hold a unit (fields.record_texts)
            options.strict,
            check_fields=first,
            block_keys=keys,
            piece_chars=options.piece_chars,
            profile_every=SAMPLE_EVERY if options.profile else 0,
            block_bytes=options.batch_chars,
        ),
    )
    acc = _Accumulator(index, rephrase_index(index) if options.rephrased else None)
    profile = CorpusProfile() if options.profile else None
    texts: list[str] = []
    refs: list[TextRef] = []
    size = 0
    reported = 0

    def report() -> None:
        nonlocal reported
        if progress is not None:
            done = min(reader.raw_read, shard.size)
            progress(done - reported)
            reported = done

    for item in reader.items():
        if isinstance(item, BlockBatch):
            if texts:  # records read one by one before this block come first
                acc.add(ListBatch(texts, refs))
                texts, refs, size = [], [], 0
            if profile is not None:
                item.profile_into(profile, record_text)
            acc.add(item)
            report()
            continue
        if profile is not None:
            profile.add(record_text(item))
        for text, ref in record_pieces(item, options.piece_chars):
            texts.append(text)
            refs.append(ref)
            size += len(text)
            if size >= options.batch_chars:
                acc.add(ListBatch(texts, refs))
                texts, refs, size = [], [], 0
                report()
    if texts:
        acc.add(ListBatch(texts, refs))
    if progress is not None:
        progress(shard.size - reported)  # increments add up to the shard's size exactly
    units = np.unique(np.concatenate(acc.units)) if acc.units else np.empty(0, np.int64)
    return ShardResult(
        shard=shard,
        units=units.astype(np.int64),
        findings=acc.findings,
        accounting=reader.acct,
        words=acc.words,
        profile=profile,
        rephrased=acc.rephrased if options.rephrased else None,
        timing={
            "seconds": round(time.monotonic() - t0, 3),
            "cpu_seconds": round(time.process_time() - c0, 3),
            "worker": f"{socket.gethostname()}:{os.getpid()}",  # which process ran it (for benchmarks)
        },
    )


def block_keys(fields: tuple[FieldPath, ...] | None, options: ScanOptions) -> tuple[bytes, ...] | bool | None:
    """Whether JSON Lines are read in blocks by the compiled parser (its keys), or record by record (False):
    blocks need the compiled core (the reference path reads record by record, as the tests' reference),
    top-level --field names, and no rephrased stage (which reads every text as a string)."""
    from harness.leakage import hashing

    if hashing.CORE != "compiled" or options.rephrased or not options.blocks:
        return False
    return parser_keys(fields)


def record_text(record: Record) -> str:
    """A record's text for the profile: its scanned fields joined by a line break."""
    texts = record.texts
    return texts[0][1] if len(texts) == 1 else "\n".join(t for _, t in texts)


class _Accumulator:
    """Per-item findings of one shard, fed batch by batch in record order."""

    def __init__(self, index: TestIndex, rindex: RephraseIndex | None = None) -> None:
        self.index = index
        self.rindex = rindex
        self.rephrased: dict[int, Rephrased] = {}
        self._last_rephrased: dict[int, int] = {}
        self.findings: dict[int, Finding] = {}
        self.units: list[np.ndarray] = []
        self.words = 0
        self._last: dict[int, int] = {}  # item -> last record counted in `records`
        self._last_dirty: dict[int, int] = {}

    def add(self, batch: TextBatch) -> None:
        if self.rindex is not None:
            self._add_rephrased(batch)
        m = match_folded(batch.data, batch.text_start, self.index)
        self.words += m.words
        if m.units.size:
            self.units.append(m.units)
        for e in m.evidence:
            ref = batch.ref(e.text)
            f = self.findings.setdefault(e.item, Finding())
            f.longest = max(f.longest, e.longest)
            if self._last.get(e.item) != ref.record:
                self._last[e.item] = ref.record
                f.records += 1
            if e.qualifying:
                f.dirty = True
                if self._last_dirty.get(e.item) != ref.record:
                    self._last_dirty[e.item] = ref.record
                    f.dirty_records += 1
            if f.place is None or (e.qualifying and not f.place.qualifying):
                f.place = self._place(e, batch.text(e.text), ref)

    def _add_rephrased(self, batch: TextBatch) -> None:
        assert self.rindex is not None
        texts = [batch.text(i) for i in range(len(batch))]
        for m in find_rephrased(texts, self.rindex):
            ref = batch.ref(m.text)
            prev = self.rephrased.get(m.item)
            count = (prev.records if prev else 0) + (self._last_rephrased.get(m.item) != ref.record)
            self._last_rephrased[m.item] = ref.record
            if prev is not None and prev.score >= m.score:
                prev.records = count
                continue
            text = texts[m.text]
            begin, end = char_offset(text, m.word), char_offset(text, m.word + m.n_words)
            lo = max(0, begin - EXCERPT_BEFORE // 4)
            hi = min(len(text), end + EXCERPT_BEFORE // 4, lo + EXCERPT_MAX)
            self.rephrased[m.item] = Rephrased(
                score=m.score,
                numbers_in_order=m.numbers_in_order,
                numbers_present=m.numbers_present,
                shared_words=m.shared_words,
                records=count,
                record=ref.record,
                line=ref.line,
                field=ref.field,
                offset=ref.base + begin,
                excerpt=text[lo:hi],
                excerpt_offset=ref.base + lo,
            )

    def _place(self, e: Evidence, text: str, ref: TextRef) -> Place:
        """Offsets, excerpt and similarity of one match; runs at most twice per item and shard."""
        from rapidfuzz import fuzz  # imported here: a scan that finds nothing never needs it

        begin = char_offset(text, e.word)
        end = char_offset(text, e.word + e.n_words)
        lo = max(0, begin - EXCERPT_BEFORE)
        hi = min(len(text), max(end, begin) + EXCERPT_BEFORE, lo + EXCERPT_MAX)
        seg = self.index.segments[e.segment]
        words = word_bytes(text)
        window = words[max(0, e.word - seg.n_words) : e.word + e.n_words + seg.n_words]
        similarity = fuzz.partial_ratio(seg.text.decode("utf-8"), b" ".join(window).decode("utf-8"))
        return Place(
            record=ref.record,
            line=ref.line,
            field=ref.field,
            offset=ref.base + begin,
            words=e.n_words,
            segment=seg.field,
            excerpt=text[lo:hi],
            excerpt_offset=ref.base + lo,
            similarity=round(float(similarity), 1),
            qualifying=e.qualifying,
        )
