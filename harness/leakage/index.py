"""The test-set index: every item's n-grams, hashed once, in sorted arrays the scan probes.

Segments. An item's leakable text (`Item.texts()`) is indexed field by field: the question (for
HellaSwag the context `ctx`, without the activity label, which is a category name), the answer or
solution (GSM8K), and each choice on its own. N-grams never span two segments, because a question
and its 3rd choice never sit side by side in the wild the way they sit in our item record.

Length rule (GPT-3 lowered n per benchmark from its items' lengths; we lower it per segment):
- a segment of at least `ngram` words contributes its `ngram`-word n-grams;
- a segment of `floor` .. `ngram`-1 words contributes itself, whole, as one n-gram of its own length:
  it is found only where the complete segment appears;
- a segment below `floor` words (default 8) is not indexed: "Which is a mammal?", "True", "4" appear on
  countless pages that never saw the benchmark. An item none of whose segments reach `floor` words cannot
  be detected by n-gram matching at all; it is counted as `undetectable` for its benchmark, never as clean
  evidence.

Hashes: `hashing.word_codes` and `hashing.ngram_hashes`, the very functions the scan runs over corpus
batches. Hits are re-checked word by word, so a 64-bit collision can never create a finding.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from harness.data import Item, load_benchmark
from harness.leakage.hashing import ngram_hashes, word_codes, word_spans
from harness.leakage.normalize import words

PREFILTER_BITS = 24  # at most a 16M-entry byte table per probed length


@dataclass(frozen=True)
class Segment:
    field: str
    words: tuple[str, ...]


@dataclass
class IndexedItem:
    item_id: str
    benchmark: str
    segments: list[Segment]
    first_gid: int  # the item's n-grams have global ids first_gid .. first_gid + n_ngrams - 1
    n_ngrams: int


@dataclass
class TestIndex:
    """Sorted n-gram hashes per n-gram length, with the item/segment/position each came from."""

    ngram: int
    floor: int
    items: list[IndexedItem]
    benchmarks: dict[str, dict]  # name -> {"split", "items", "content_sha256", "source"}
    keys: dict[int, np.ndarray] = field(default_factory=dict)  # length -> sorted uint64 hashes
    gids: dict[int, np.ndarray] = field(default_factory=dict)  # length -> global n-gram id per key
    gid_item: np.ndarray = field(default_factory=lambda: np.empty(0, np.int32))
    gid_segment: np.ndarray = field(default_factory=lambda: np.empty(0, np.int32))
    gid_pos: np.ndarray = field(default_factory=lambda: np.empty(0, np.int32))
    gid_len: np.ndarray = field(default_factory=lambda: np.empty(0, np.int16))  # words a hit must match
    prefilter: dict[int, tuple[int, np.ndarray]] = field(default_factory=dict)  # length -> (bits, table)

    @property
    def lengths(self) -> list[int]:
        return sorted(self.keys)

    def summary(self) -> dict:
        return {
            "ngrams": int(self.gid_item.size),
            "unique_hashes": int(sum(np.unique(k).size for k in self.keys.values())),
            "lengths": self.lengths,
        }


def item_segments(item: Item) -> list[Segment]:
    """The leakable text of one item, as separately indexed segments (see module docstring)."""
    texts = item.texts()
    if item.benchmark == "hellaswag" and "ctx" in item.row:
        texts = {"ctx": item.row["ctx"], **{k: v for k, v in texts.items() if k != "question"}}
    out = []
    for name, text in texts.items():
        if isinstance(text, str) and text:
            out.append(Segment(name, tuple(words(text))))
    return out


def build_index(items_by_benchmark: dict[str, Sequence[Item]], *, ngram: int = 13, floor: int = 8,
                benchmark_meta: dict[str, dict] | None = None) -> TestIndex:
    """Index the items of several benchmarks (pure: items in, index out)."""
    if ngram < 1 or floor < 1:
        raise ValueError("ngram and floor must be positive")
    floor = min(floor, ngram)
    indexed: list[IndexedItem] = []
    pending: list[tuple[int, int, int, tuple[str, ...]]] = []  # (item, segment, k, words)
    for name in items_by_benchmark:
        for item in items_by_benchmark[name]:
            segments = item_segments(item)
            for s_index, seg in enumerate(segments):
                if len(seg.words) >= floor:
                    pending.append((len(indexed), s_index, min(ngram, len(seg.words)), seg.words))
            indexed.append(IndexedItem(item.item_id, item.benchmark, segments, 0, 0))
    # All segments' words in one buffer, hashed by the scan's own vectorised code.
    buf = np.frombuffer(b"\0".join(" ".join(w).encode("utf-8") for *_, w in pending), dtype=np.uint8)
    starts, ends = word_spans(buf)
    codes = word_codes(buf, starts, ends)
    hashes, lengths, g_item, g_seg, g_pos = [], [], [], [], []
    offset = 0
    gid = 0
    for item_i, s_index, k, seg_words in pending:
        seg_codes = codes[offset : offset + len(seg_words)]
        offset += len(seg_words)
        # A short segment is keyed by its first `floor` words (its anchor), so the scan probes only two
        # window lengths; a hit on an anchor is then verified against the whole segment (gid_len = k).
        h = ngram_hashes(seg_codes[:floor] if k < ngram else seg_codes, floor if k < ngram else k)
        if indexed[item_i].n_ngrams == 0:
            indexed[item_i].first_gid = gid
        indexed[item_i].n_ngrams += h.size
        hashes.append(h)
        lengths.append(np.full(h.size, k, np.int16))
        g_item.append(np.full(h.size, item_i, np.int32))
        g_seg.append(np.full(h.size, s_index, np.int32))
        g_pos.append(np.arange(h.size, dtype=np.int32))
        gid += h.size
    if offset != codes.size:
        raise AssertionError("index word count mismatch")  # would mean the two tokenisers disagree
    all_h = np.concatenate(hashes) if hashes else np.empty(0, np.uint64)
    all_len = np.concatenate(lengths) if lengths else np.empty(0, np.int16)
    index = TestIndex(
        ngram=ngram,
        floor=floor,
        items=indexed,
        benchmarks=benchmark_meta or {},
        gid_item=np.concatenate(g_item) if g_item else np.empty(0, np.int32),
        gid_segment=np.concatenate(g_seg) if g_seg else np.empty(0, np.int32),
        gid_pos=np.concatenate(g_pos) if g_pos else np.empty(0, np.int32),
        gid_len=all_len,
    )
    all_gids = np.arange(all_h.size, dtype=np.int64)
    key_len = np.where(all_len < ngram, floor, ngram)
    for k in np.unique(key_len).tolist():
        sel = key_len == k
        order = np.argsort(all_h[sel], kind="stable")
        index.keys[int(k)] = all_h[sel][order]
        index.gids[int(k)] = all_gids[sel][order]
        # Per-length prefilter: a byte table of >= 8 slots per key (cache-sized for the few short keys).
        bits = int(min(PREFILTER_BITS, max(16, int(np.ceil(np.log2(max(1, sel.sum()) * 8))))))
        table = np.zeros(1 << bits, dtype=np.uint8)
        table[(index.keys[int(k)] >> np.uint64(64 - bits)).astype(np.int64)] = 1
        index.prefilter[int(k)] = (bits, table)
    return index


def load_index(benchmarks: Sequence[str], *, ngram: int = 13, floor: int = 8) -> TestIndex:
    """Build the index for benchmarks loaded through the data layer (their eval splits)."""
    items: dict[str, Sequence[Item]] = {}
    meta: dict[str, dict] = {}
    for name in benchmarks:
        bs = load_benchmark(name)
        items[name] = bs.items
        meta[name] = {
            "split": bs.split,
            "items": len(bs),
            "content_sha256": bs.content_sha256,
            "source": bs.source.to_dict(),
        }
    return build_index(items, ngram=ngram, floor=floor, benchmark_meta=meta)
