"""The test-set index: every item's n-grams, hashed once, in sorted arrays that the scan probes.

Segments. An item's leakable text is indexed field by field: the question (for HellaSwag the context `ctx`,
without the activity label, which is a category name), the solution (GSM8K), and each choice on its own.
N-grams never span two segments: a question and its third choice do not sit side by side in the wild the
way they sit in our item record. GSM8K solutions are indexed twice, as released and without the calculator
annotations (`<<48/2=24>>`) that copies on the web usually drop; the two are variants of one segment.

Length rule (GPT-3 lowered n per benchmark from its items' lengths; we lower it per segment):
- a segment of at least `ngram` words contributes all its `ngram`-word n-grams;
- a segment of `floor` .. `ngram`-1 words contributes itself, whole, as one unit: it is found only where
  the complete segment appears (probed through one window of `floor` words, its anchor: the window of the
  segment that the fewest windows of the test sets share, so that "which of the following is an example
  of ..." is not probed through its stock opening);
- a multiple-choice question of `BRIEF_MIN` .. `floor`-1 words ("Coal is formed from") whose question and
  options together have at least `floor` words is a *brief* unit: the whole question, probed through its
  rarest window of `BRIEF_ANCHOR` words, and found only with every one of its options next to it (see
  `matcher`): the question and its options, in any order and under any labels, are the item;
- other segments below `floor` words (default 8) are not indexed: "True", "4", "Paris" appear on countless
  pages that never saw the benchmark. They still serve as companions (see `matcher`). An item none of
  whose segments is indexed cannot be detected by n-gram matching at all; it is counted as `undetectable`
  for its benchmark, never as clean evidence.

Stock phrasing. A key (for a short or brief unit: its whole text) that belongs to `BOILERPLATE_ITEMS` (6)
or more different items is instructions, not content: MMLU's "if the argument is invalid, choose an option which presents a counterexample" (formal
logic) or "does the main character (who uses I/me/my) do something clearly morally wrong" (moral
scenarios, 100 items). Such units are marked `shared`: a hit on one counts towards overlap, but never makes
an item dirty on its own. Keys of 2-5 items are real shared content (an MMLU passage asked about by several
questions, a HellaSwag caption that starts several contexts) and count for each of those items.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

if TYPE_CHECKING:
    from harness.data import BenchmarkSet
from harness.data.registry import get_spec
from harness.leakage.hashing import padded, window_hashes, word_codes, word_spans
from harness.leakage.normalize import ASCII_FOLD, word_bytes

HASH_VERSION = 1  # bump when normalisation or hashing changes: resumed scans must not mix versions
INDEX_VERSION = 2  # bump when what is indexed changes (segments, units): keys the on-disk index cache
BOILERPLATE_ITEMS = 6  # a key in this many items or more is stock phrasing (see the module docstring)
BRIEF_MIN = 3  # shortest question (words) indexed as a brief unit, with all its options as companions
BRIEF_ANCHOR = 3  # window length (words) through which brief units are probed
BRIEF_FIELDS = frozenset({"question"})  # fields that can be brief units (not HellaSwag's ctx)
_CALCULATOR = re.compile(r"<<[^<>]*>>")


class Segment(NamedTuple):
    """One indexed field (or a variant of one) of one item. (A NamedTuple: 100k of them are built per
    index and per worker, and a frozen dataclass is several times slower to construct.)"""

    item: int  # position in TestIndex.items
    field: str  # "question", "ctx", "answer", "choices[2]", "answer (plain)"
    group: int  # segment id of the primary segment this one is a variant of (its own id if primary)
    text: bytes  # normalised words joined by single spaces, UTF-8
    n_words: int
    units: int  # indexed units: n-grams, 1 for a short segment, 0 below the floor


class IndexedItem(NamedTuple):
    item_id: str
    benchmark: str
    segments: tuple[int, ...]  # segment ids, primary segments first in field order
    detectable: bool


class SegmentTable(Sequence[Segment]):
    """Every segment, stored as columns: pickles in milliseconds (a worker or a Ray task receives the index
    once), and `segments[i]` builds the one `Segment` a hit needs."""

    def __init__(self, rows: Sequence[Segment]) -> None:
        self.item = np.array([r.item for r in rows], dtype=np.int64)
        self.group = np.array([r.group for r in rows], dtype=np.int64)
        self.n_words = np.array([r.n_words for r in rows], dtype=np.int64)
        self.units = np.array([r.units for r in rows], dtype=np.int64)
        self.field = [r.field for r in rows]
        self.blob = b"".join(r.text for r in rows)
        self.offsets = np.cumsum([0] + [len(r.text) for r in rows], dtype=np.int64)

    def __len__(self) -> int:
        return len(self.field)

    def __getitem__(self, i):  # type: ignore[override]
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        i = int(i)
        text = self.blob[int(self.offsets[i]) : int(self.offsets[i + 1])]
        return Segment(
            int(self.item[i]),
            self.field[i],
            int(self.group[i]),
            text,
            int(self.n_words[i]),
            int(self.units[i]),
        )

    def __iter__(self):
        return (self[i] for i in range(len(self)))


class ItemTable(Sequence[IndexedItem]):
    """Every item, as columns; an item's segments are consecutive segment ids."""

    def __init__(
        self, ids: list[str], benchmarks: list[str], seg_starts: list[int], detectable: list[bool]
    ) -> None:
        self.item_id = ids
        self.benchmark = benchmarks
        self.seg_starts = np.asarray(seg_starts, dtype=np.int64)  # len(ids) + 1 entries
        self.detectable = np.asarray(detectable, dtype=bool)

    def __len__(self) -> int:
        return len(self.item_id)

    def __getitem__(self, i):  # type: ignore[override]
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        i = int(i)
        segs = tuple(range(int(self.seg_starts[i]), int(self.seg_starts[i + 1])))
        return IndexedItem(self.item_id[i], self.benchmark[i], segs, bool(self.detectable[i]))

    def __iter__(self):
        return (self[i] for i in range(len(self)))


@dataclass
class TestIndex:
    """Sorted n-gram hashes per probed window length, and where each unit came from."""

    ngram: int
    floor: int
    items: ItemTable
    segments: SegmentTable
    benchmarks: dict[str, dict]  # name -> {"split", "items", "content_sha256", "source"}
    keys: dict[int, np.ndarray] = field(default_factory=dict)  # window length -> sorted uint64 hashes
    gids: dict[int, np.ndarray] = field(default_factory=dict)  # window length -> unit id of each key
    unit_segment: np.ndarray = field(default_factory=lambda: np.empty(0, np.int32))
    unit_pos: np.ndarray = field(default_factory=lambda: np.empty(0, np.int32))  # first word in the segment
    unit_len: np.ndarray = field(default_factory=lambda: np.empty(0, np.int32))  # words a hit must match
    unit_anchor: np.ndarray = field(default_factory=lambda: np.empty(0, np.int32))  # probed window's offset
    unit_shared: np.ndarray = field(default_factory=lambda: np.empty(0, bool))
    tables: dict[int, KeyLookup] = field(default_factory=dict, repr=False)  # window length -> lookup
    cache_path: str | None = field(default=None, repr=False, compare=False)  # read from this cache folder

    @property
    def lengths(self) -> list[int]:
        return sorted(self.keys)

    @property
    def n_units(self) -> int:
        return int(self.unit_segment.size)

    def fingerprint(self) -> str:
        """Identifies what this index matches: benchmark contents, rule parameters, hashing version."""
        h = hashlib.sha256(f"v{HASH_VERSION} n={self.ngram} floor={self.floor}".encode())
        for name in sorted(self.benchmarks):
            h.update(f"|{name}:{self.benchmarks[name].get('content_sha256')}".encode())
        h.update(str(len(self.items)).encode())
        return h.hexdigest()

    def summary(self) -> dict:
        return {
            "units": self.n_units,
            "shared_units": int(self.unit_shared.sum()),
            "window_lengths": self.lengths,
            "segments": len(self.segments),
        }


def item_fields(bs: BenchmarkSet, i: int) -> list[tuple[str, str]]:
    """The leakable fields of item `i` of a benchmark set, primary fields only, in a fixed order.

    The benchmark's spec names them (``scan.fields`` in ``harness/data/benchmarks/<name>.toml``):
    ``question``, ``choices`` (each choice), ``answer`` (unless it is one of the choices), or a field
    of the item's source row (HellaSwag's ``ctx``; the item's question when the row lacks it).
    An answer that is not among the choices is indexed whatever the spec says, as it always was."""
    item = bs.items[i]
    out: list[tuple[str, str]] = []
    fields = get_spec(bs.benchmark).scan.fields
    for name in fields:
        if name == "question":
            out.append(("question", item.question))
        elif name == "choices":
            out += [(f"choices[{j}]", c) for j, c in enumerate(item.choices)]
        elif name != "answer":
            out.append((name, str(bs.rows[item.row].get(name) or item.question)))
    if item.answer and item.answer not in item.choices:
        out.append(("answer", item.answer))
    return out


def field_variants(benchmark: str, name: str, text: str) -> list[tuple[str, str]]:
    """Other spellings of a field that leak in the wild (see module docstring); the spec says which
    benchmarks' answers carry calculator annotations (``scan.plain_answer``)."""
    if name == "answer" and get_spec(benchmark).scan.plain_answer and _CALCULATOR.search(text):
        return [("answer (plain)", _CALCULATOR.sub("", text))]
    return []


def build_index(sets: Sequence[BenchmarkSet], *, ngram: int = 13, floor: int = 8) -> TestIndex:
    """Index the items of several benchmark sets (pure: sets in, index out)."""
    if ngram < 1 or floor < 1:
        raise ValueError("ngram and floor must be positive")
    floor = min(floor, ngram)
    items: list[IndexedItem] = []
    segments: list[Segment] = []
    meta: dict[str, dict] = {}
    for bs in sets:
        meta[bs.benchmark] = {
            "split": bs.split,
            "items": len(bs),
            "content_sha256": bs.content_sha256,
            "source": bs.source.to_dict(),
        }
        for i, item in enumerate(bs.items):
            ids: list[int] = []
            seen: set[bytes] = set()
            for name, raw in item_fields(bs, i):
                group = -1
                for vname, vtext in [(name, raw), *field_variants(bs.benchmark, name, raw)]:
                    w = word_bytes(vtext)
                    text = b" ".join(w)
                    if not w or text in seen:
                        continue
                    seen.add(text)
                    sid = len(segments)
                    group = sid if group < 0 else group
                    units = 0 if len(w) < floor else 1 if len(w) < ngram else len(w) - ngram + 1
                    if not units and _brief(bs.benchmark, vname, len(w), item, floor):
                        units = 1
                    segments.append(Segment(len(items), vname, group, text, len(w), units))
                    ids.append(sid)
            detectable = any(segments[s].units for s in ids)
            items.append(IndexedItem(item.item_id, bs.benchmark, tuple(ids), detectable))
    index = TestIndex(
        ngram=ngram,
        floor=floor,
        items=ItemTable(
            [i.item_id for i in items],
            [i.benchmark for i in items],
            _starts(items),
            [i.detectable for i in items],
        ),
        segments=SegmentTable(segments),
        benchmarks=meta,
    )
    _hash_units(index)
    return index


def _brief(benchmark: str, field: str, n_words: int, item, floor: int) -> bool:
    """Whether a question below the floor is a brief unit: BRIEF_MIN+ words, at least two options, and
    at least `floor` words with its options (less is too little text to tell a copy from a coincidence)."""
    if field not in BRIEF_FIELDS or n_words < min(BRIEF_MIN, floor) or len(item.choices) < 2:
        return False
    return n_words + sum(len(word_bytes(c)) for c in item.choices) >= floor


def _starts(items: list[IndexedItem]) -> list[int]:
    """First segment id of each item, and the total: items own consecutive segment ids."""
    out, n = [], 0
    for it in items:
        if it.segments and it.segments[0] != n:
            raise AssertionError("segments are not consecutive per item")
        out.append(n)
        n += len(it.segments)
    return [*out, n]


def _hash_units(index: TestIndex) -> None:
    """Hash every unit with the scan's own vectorised code, in one buffer, and sort the keys."""
    n, f = index.ngram, index.floor
    b = min(BRIEF_ANCHOR, f)
    segs = index.segments
    sid = np.flatnonzero(segs.units > 0)
    lengths = segs.n_words[sid]
    off, blob = segs.offsets.tolist(), segs.blob
    buf = padded(
        b" " + b" ".join(blob[off[i] : off[i + 1]] for i in sid.tolist()).translate(ASCII_FOLD) + b" "
    )
    starts, ends = word_spans(buf)
    codes = word_codes(buf, starts, ends)
    if codes.size != int(lengths.sum()):
        raise AssertionError("index word count mismatch")  # would mean the two tokenisers disagree
    offsets = np.concatenate(([0], np.cumsum(lengths)[:-1])) if lengths.size else lengths
    long = lengths >= n
    short = np.flatnonzero(~long & (lengths >= f))
    brief = np.flatnonzero(lengths < f)
    hashes = window_hashes(codes, sorted({n, f, b} if brief.size else {n, f}))
    # Long segments: every n-word window inside the segment.
    counts = np.where(long, lengths - n + 1, 0)
    seg_of = np.repeat(np.arange(lengths.size), counts)
    first = np.repeat(np.cumsum(counts) - counts, counts)
    pos_long = np.arange(seg_of.size) - first
    key_long = hashes[n][offsets[seg_of] + pos_long] if seg_of.size else np.empty(0, np.uint64)
    # Short and brief segments: one unit each, keyed by its rarest window (the anchor), verified whole.
    anchor_short, key_short = _anchors(hashes[f], offsets, lengths, short, f)
    anchor_brief, key_brief = (
        _anchors(hashes[b], offsets, lengths, brief, b) if brief.size else (np.empty(0, np.int64),) * 2
    )
    whole = np.concatenate((short, brief))
    unit_seg = np.concatenate((sid[seg_of], sid[whole])).astype(np.int32)
    unit_pos = np.concatenate((pos_long, np.zeros(whole.size, np.int64))).astype(np.int32)
    unit_len = np.concatenate((np.full(seg_of.size, n), lengths[whole])).astype(np.int32)
    unit_anchor = np.concatenate((np.zeros(seg_of.size, np.int64), anchor_short, anchor_brief)).astype(
        np.int32
    )
    unit_key = np.concatenate((key_long, key_short, key_brief.astype(np.uint64)))
    probe_len = np.concatenate((np.full(seg_of.size, n), np.full(short.size, f), np.full(brief.size, b)))
    index.unit_segment, index.unit_pos, index.unit_len = unit_seg, unit_pos, unit_len
    index.unit_anchor = unit_anchor
    unit_item = segs.item[unit_seg] if unit_seg.size else np.empty(0, np.int64)
    # Stock phrasing: long units by their n-gram, short and brief ones by their whole text.
    share_key = unit_key.copy()
    if whole.size:
        texts = [blob[off[i] : off[i + 1]] for i in sid[whole].tolist()]
        share_key[seg_of.size :] = np.array([_text_key(t) for t in texts], dtype=np.uint64)
    index.unit_shared = _shared_by(share_key, unit_item)
    for k in sorted(set(probe_len.tolist())):
        sel = np.flatnonzero(probe_len == k)
        by_key = sel[np.argsort(unit_key[sel], kind="stable")]
        index.keys[k] = unit_key[by_key]
        index.gids[k] = by_key.astype(np.int32)
        index.tables[k] = key_lookup(index.keys[k])


def _anchors(
    h: np.ndarray, offsets: np.ndarray, lengths: np.ndarray, which: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """For each segment in `which`: the offset and hash of its k-word window that the fewest k-word windows
    of all indexed segments share (ties: the last one, where questions are most specific)."""
    if which.size == 0:
        return np.empty(0, np.int64), np.empty(0, np.uint64)
    inside = np.concatenate(
        [np.arange(o, o + max(0, ln - k + 1)) for o, ln in zip(offsets, lengths, strict=True)]
    )
    values, counts = np.unique(h[inside], return_counts=True)
    out_pos = np.empty(which.size, np.int64)
    out_key = np.empty(which.size, np.uint64)
    for j, seg in enumerate(which.tolist()):
        windows = h[offsets[seg] : offsets[seg] + lengths[seg] - k + 1]
        freq = counts[np.searchsorted(values, windows)]
        best = int(windows.size - 1 - np.argmin(freq[::-1]))  # the last of the least shared
        out_pos[j], out_key[j] = best, windows[best]
    return out_pos, out_key


def _text_key(text: bytes) -> int:
    return int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "little")


def _shared_by(keys: np.ndarray, items: np.ndarray) -> np.ndarray:
    """Whether each key belongs to `BOILERPLATE_ITEMS` items or more (keys in any order)."""
    if keys.size == 0:
        return np.zeros(0, bool)
    order = np.argsort(keys, kind="stable")
    shared = np.empty(keys.size, bool)
    shared[order] = _shared(keys[order], items[order])
    return shared


def _shared(keys: np.ndarray, items: np.ndarray) -> np.ndarray:
    """For sorted keys: whether each key's run of equal keys belongs to `BOILERPLATE_ITEMS` items or more."""
    if keys.size == 0:
        return np.zeros(0, bool)
    # Distinct items per run: sort each run's items, count changes.
    order = np.lexsort((items, keys))
    k, it = keys[order], items[order]
    new_key = np.concatenate(([True], k[1:] != k[:-1]))
    new_item = new_key | np.concatenate(([True], it[1:] != it[:-1]))
    run = np.cumsum(new_key) - 1
    distinct = np.bincount(run, weights=new_item)
    out = np.empty(keys.size, bool)
    out[order] = distinct[run] >= BOILERPLATE_ITEMS
    return out


@dataclass(frozen=True)
class KeyLookup:
    """Exact membership of window hashes in one length's sorted keys, from structures that stay in cache.

    - A Bloom filter of one 64-bit word per probe (register-blocked: Putze, Sanders and Singler 2007,
      "Cache-, hash- and space-efficient Bloom filters"): word = the hash's top `bloom_bits` bits, and
      `BLOOM_K` bits in it chosen by 6-bit fields of a remix of the hash (`bloom_masks`), about 28 bits per
      key. A window is read once, in one cache line, and 1 to 2 in 1,000 windows that are not keys get
      past it (4 MiB for the 1.2 M 13-grams of the five test sets; `bloom_false_pass` measures it).
    - Buckets for the exact check: keys cut into 2**bits buckets by their top `bits` bits (about `FILL`
      keys each): bucket b is keys[offsets[b] : offsets[b + 1]], with a 16-bit fingerprint per key (the
      bits below the bucket bits), so only a fingerprint hit reads a whole key.
    Built from the keys in a few hundredths of a second, kept in the index cache and sent to workers with
    the index. The compiled core and the numpy reference (`lookup_windows`) both use it; the Bloom filter
    never changes a result (a key always passes it), only how fast non-keys are turned away. (This replaced a 16 MiB one-byte filter table
    whose random reads missed the cache and let 0.3% of windows through to a numpy binary search.)
    """

    bits: int
    offsets: np.ndarray  # uint32, 2**bits + 1
    fingerprints: np.ndarray  # uint16, one per key
    max_fill: int  # keys in the fullest bucket
    bloom_bits: int
    bloom: np.ndarray  # uint64, 2**bloom_bits


FILL = 4  # keys per bucket, on average
BLOOM_K = 3  # bits set per key in its Bloom word
BLOOM_BITS_PER_KEY = 28
BLOOM_MIX = np.uint64(0x9E3779B97F4A7C15)


def bloom_masks(h: np.ndarray) -> np.ndarray:
    """The Bloom word mask of each hash: BLOOM_K bits at the 6-bit fields, from the top, of
    ((h ^ h >> 29) * BLOOM_MIX) mod 2**64 (`_fastscan.c` computes the same)."""
    g = (h ^ (h >> np.uint64(29))) * BLOOM_MIX
    mask = np.zeros(h.shape, dtype=np.uint64)
    one = np.uint64(1)
    for i in range(BLOOM_K):
        mask |= one << ((g >> np.uint64(58 - 6 * i)) & np.uint64(63))
    return mask


def key_lookup(keys: np.ndarray) -> KeyLookup:
    """The `KeyLookup` of sorted uint64 keys."""
    bits = int(min(32, max(4, round(float(np.log2(max(1, keys.size) / FILL))))))
    bucket = (keys >> np.uint64(64 - bits)).astype(np.intp)
    counts = np.bincount(bucket, minlength=1 << bits)
    offsets = np.zeros((1 << bits) + 1, dtype=np.uint32)
    np.cumsum(counts, out=offsets[1:])
    fps = ((keys >> np.uint64(48 - bits)) & np.uint64(0xFFFF)).astype(np.uint16)
    bloom_bits = int(min(32, max(6, np.ceil(np.log2(max(1, keys.size) * BLOOM_BITS_PER_KEY / 64)))))
    bloom = np.zeros(1 << bloom_bits, dtype=np.uint64)
    if keys.size:  # the keys are sorted, so their words are too: OR the masks of each run of one word
        word = (keys >> np.uint64(64 - bloom_bits)).astype(np.intp)
        first = np.flatnonzero(np.concatenate(([True], word[1:] != word[:-1])))
        bloom[word[first]] = np.bitwise_or.reduceat(bloom_masks(keys), first)
    return KeyLookup(bits, offsets, fps, int(counts.max()) if keys.size else 0, bloom_bits, bloom)


def bloom_false_pass(keys: np.ndarray, lookup: KeyLookup, samples: int = 1 << 20, seed: int = 0) -> float:
    """The share of random hashes that are not keys but pass the Bloom filter (its false-positive rate)."""
    h = np.random.default_rng(seed).integers(0, 2**64 - 1, samples, dtype=np.uint64, endpoint=True)
    h = h[~np.isin(h, keys)]
    masks = bloom_masks(h)
    words = lookup.bloom[(h >> np.uint64(64 - lookup.bloom_bits)).astype(np.intp)]
    return float(np.mean((words & masks) == masks))


def lookup_windows(h: np.ndarray, keys: np.ndarray, lookup: KeyLookup) -> np.ndarray:
    """Which of the hashes `h` are among `keys` (boolean mask): the numpy reference of the compiled core's
    lookup. The Bloom filter turns most windows away (it never turns a key away); the others are compared
    with whole keys, bucket by bucket."""
    masks = bloom_masks(h)
    words = lookup.bloom[(h >> np.uint64(64 - lookup.bloom_bits)).astype(np.intp)]
    cand = np.flatnonzero((words & masks) == masks)
    hc = h[cand]
    b = (hc >> np.uint64(64 - lookup.bits)).astype(np.intp)
    lo = lookup.offsets[b].astype(np.intp)
    hi = lookup.offsets[b + 1].astype(np.intp)
    hit = np.zeros(cand.size, bool)
    active = np.flatnonzero(hi > lo)  # windows whose bucket has a j-th key (stock phrases fill a few)
    j = 0
    while active.size:
        hit[active] |= keys[lo[active] + j] == hc[active]
        j += 1
        active = active[lo[active] + j < hi[active]]
    found = np.zeros(h.size, bool)
    found[cand[hit]] = True
    return found


def load_index(
    benchmarks: Sequence[str], *, ngram: int = 13, floor: int = 8, use_cache: bool = True
) -> TestIndex:
    """The index for benchmarks loaded through the data layer (their evaluation splits), from the on-disk
    cache when the test sets are unchanged (`index_cache`), else built (and cached)."""
    if not use_cache:
        from harness.data import load_benchmark

        return build_index([load_benchmark(name) for name in benchmarks], ngram=ngram, floor=floor)
    from harness.leakage.index_cache import load_cached_index

    return load_cached_index(benchmarks, ngram=ngram, floor=floor)[0]
