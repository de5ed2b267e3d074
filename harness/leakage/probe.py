"""The scan's pure core: a batch of texts in, verified n-gram hits against the test-set index out.

Per batch, not per word: the batch is folded into one byte buffer (`normalize.encode_batch`), word
spans and word hashes come from numpy over that buffer (`hashing`), every window's hash for each
indexed length is computed in place, windows that cross a record boundary are dropped, a byte table
prefilters, and `searchsorted` probes the sorted keys. Python only runs per *hit* (word-by-word
verification and attribution), and hits are rare unless the corpus really contains test items.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from rapidfuzz import fuzz

from harness.leakage.hashing import P, word_codes, word_spans
from harness.leakage.index import TestIndex
from harness.leakage.normalize import WORD_RE, encode_batch, fold

EXCERPT_CONTEXT = 200  # characters of training text kept on each side of a match
EXCERPT_MAX = 1200


@dataclass(frozen=True)
class FirstHit:
    """Where an item was first found within one batch, and what the training text says there."""

    text_index: int  # which text of the batch
    offset: int  # character offset of the first matched word in the text (after NFKC)
    length: int  # matched words
    field: str  # which item segment matched (question, answer, choices[i], ctx)
    excerpt: str
    similarity: float  # rapidfuzz partial_ratio of the matched item segment vs. the training text there


@dataclass
class BatchResult:
    gids: np.ndarray  # verified global n-gram ids found (unique, sorted)
    first: dict[int, FirstHit]  # item index -> first place in this batch
    tokens: int


def probe_codes(codes: np.ndarray, doc: np.ndarray, index: TestIndex) -> tuple[np.ndarray, np.ndarray]:
    """Word positions and candidate global n-gram ids whose hashes match the index (unverified).

    `doc` is each word's record number within the batch (non-decreasing); windows spanning two
    records are never probed.
    """
    n = codes.size
    acc = codes.copy()
    out_pos: list[np.ndarray] = []
    out_gid: list[np.ndarray] = []
    max_k = max(index.keys, default=0)
    with np.errstate(over="ignore"):
        for k in range(1, max_k + 1):
            m = n - k + 1
            if m <= 0:
                break
            if k > 1:
                np.multiply(acc[:m], P, out=acc[:m])
                np.add(acc[:m], codes[k - 1 : k - 1 + m], out=acc[:m])
            keys = index.keys.get(k)
            if keys is None:
                continue
            bits, table = index.prefilter[k]
            pos = np.flatnonzero(table[(acc[:m] >> np.uint64(64 - bits)).astype(np.intp)])
            pos = pos[doc[pos] == doc[pos + k - 1]]
            if pos.size == 0:
                continue
            h = acc[pos]
            left = np.searchsorted(keys, h, "left")
            right = np.searchsorted(keys, h, "right")
            found = right > left
            if not found.any():
                continue
            pos, left, right = pos[found], left[found], right[found]
            counts = right - left
            starts = np.repeat(left - np.cumsum(counts) + counts, counts) + np.arange(counts.sum())
            out_pos.append(np.repeat(pos, counts))
            out_gid.append(index.gids[k][starts])
    if not out_pos:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    return np.concatenate(out_pos), np.concatenate(out_gid)


def scan_batch(texts: list[str], index: TestIndex) -> BatchResult:
    """Probe a batch of texts; hits are verified word by word before they count."""
    raw = encode_batch(texts)
    buf = np.frombuffer(raw, dtype=np.uint8)
    starts, ends = word_spans(buf)
    codes = word_codes(buf, starts, ends)
    seps = np.flatnonzero(buf == 0)
    doc = np.searchsorted(seps, starts)
    pos, gids = probe_codes(codes, doc, index)
    if pos.size == 0:
        return BatchResult(np.empty(0, np.int64), {}, int(codes.size))
    order = np.lexsort((gids, pos))
    pos, gids = pos[order], gids[order]
    verified = np.zeros(pos.size, dtype=bool)
    first: dict[int, FirstHit] = {}
    for j, (p, g) in enumerate(zip(pos.tolist(), gids.tolist(), strict=True)):
        item_i = int(index.gid_item[g])
        seg = index.items[item_i].segments[int(index.gid_segment[g])]
        k = int(index.gid_len[g])
        at = int(index.gid_pos[g])
        if p + k > codes.size or doc[p + k - 1] != doc[p]:
            continue  # a short segment's anchor matched but the segment runs past the record
        found = raw[starts[p] : ends[p + k - 1]].split()
        if found != [w.encode("utf-8") for w in seg.words[at : at + k]]:
            continue  # 64-bit hash collision: not a hit
        verified[j] = True
        if item_i not in first:
            t = int(doc[p])
            text_first_word = int(np.searchsorted(doc, t, "left"))
            first[item_i] = _first_hit(texts[t], t, p - text_first_word, k, seg.field, seg.words)
    return BatchResult(np.unique(gids[verified]), first, int(codes.size))


def _first_hit(text: str, text_index: int, word_pos: int, k: int, field: str, seg_words: tuple[str, ...]) -> FirstHit:
    """Character offset, bounded excerpt and rapidfuzz similarity of one match (runs once per item)."""
    folded = fold(text)
    spans = []
    for i, m in enumerate(WORD_RE.finditer(folded)):
        if i >= word_pos:
            spans.append(m.span())
            if len(spans) >= k:
                break
    begin, end = spans[0][0], spans[-1][1]
    # Offsets refer to the folded text; for ASCII it has the original's positions.
    display = text if text.isascii() else fold_keep_case(text)
    if len(display) != len(folded):
        display = folded
    lo = max(0, begin - EXCERPT_CONTEXT)
    hi = min(len(display), end + EXCERPT_CONTEXT, lo + EXCERPT_MAX)
    excerpt = display[lo:hi]
    window = folded[max(0, begin - 4 * len(" ".join(seg_words))) : end + 4 * len(" ".join(seg_words))]
    similarity = fuzz.partial_ratio(" ".join(seg_words), " ".join(WORD_RE.findall(window)))
    return FirstHit(text_index, begin, k, field, excerpt, round(float(similarity), 1))


def fold_keep_case(text: str) -> str:
    import unicodedata

    return unicodedata.normalize("NFKC", text)
