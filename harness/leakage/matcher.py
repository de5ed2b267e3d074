"""The scan's pure core: a batch of texts in, verified matches against the test-set index out.

Per batch, not per word: the texts are folded into one byte buffer (`normalize.fold_bytes`, or the
compiled JSON Lines parser, which gives the same words: `batches`), and one pass (`hashing.probe_windows`:
the compiled core, or its numpy reference) splits words, codes them, hashes every window of every probed
length and returns the windows whose hash is one of the index's keys (`index.KeyLookup`); `searchsorted`
finds the units of those few keys. Windows that would span two texts are dropped. Python runs only per
hit, and hits are rare unless the text really contains test items: each one is re-read word by word (in
its own text only) before it counts, so a hash collision can never make a finding.

Evidence rule, per item and text (docs/scan.md):
- a *long* match: a run of at least `ngram` consecutive words of one of the item's segments qualifies on
  its own (GPT-3's 13-gram rule), unless all its n-grams are stock phrasing (`index.BOILERPLATE_ITEMS`);
- a *brief* match: a complete multiple-choice question under `floor` words (`index.BRIEF_MIN`+) qualifies
  only with every one of its options chained next to it, in any order, under any labels;
- a *short* match: a complete segment of `floor` .. `ngram`-1 words qualifies only with companions: at
  least two of the item's other fields (all of them if it has fewer) follow or precede it in the same text,
  chained field by field with at most `COMPANION_GAP` words between them, each an option label
  (`LABEL_WORDS`: "A)", "(b)", "1.", "Option C:"), never a word of the item. A quiz page asking "How many books are in the New
  Testament?" is not the MMLU item; the same question with the item's options is. The exception is a
  continuation context (`STANDALONE_FIELDS`: HellaSwag's `ctx`), which qualifies alone: it runs from a
  caption sentence into the first words of the next ("... a field. it"), a shape that generic pages do not
  share the way they share a common question.
An item is *dirty* when at least one text holds a qualifying match.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from harness.leakage.hashing import probe_windows
from harness.leakage.index import TestIndex
from harness.leakage.normalize import ASCII_FOLD, fold_bytes

COMPANION_WINDOW = 100  # words around a match kept apart between pieces of a long text (core.pieces)
COMPANION_GAP = 4  # label words allowed between a short match and the next of the item's fields
STANDALONE_FIELDS = frozenset({"ctx"})  # short fields that qualify without companions (see above)


@dataclass(frozen=True, slots=True)
class Evidence:
    """One item matched in one text of a batch."""

    item: int
    text: int  # position of the text in the batch
    word: int  # first word, within the text, of the match chosen as this text's place
    n_words: int  # length of that match in words
    segment: int  # segment id of that match
    longest: int  # longest run of the item's words matched in this text
    qualifying: bool  # whether this text alone makes the item dirty


@dataclass
class BatchMatches:
    units: np.ndarray  # unit ids found in the batch (sorted, unique)
    evidence: list[Evidence]  # sorted by (text, item)
    words: int  # words scanned
    candidates: int  # windows that passed the prefilter (for profiling)


def match_texts(texts: Sequence[str], index: TestIndex, core: str | None = None) -> BatchMatches:
    """Find every verified occurrence of an indexed unit in `texts` and summarise it per item and text.

    `core` picks the implementation of the hot path (`hashing.probe_windows`; default: the compiled one
    when built); the result is the same either way.
    """
    encoded = [fold_bytes(t) for t in texts]
    text_start = np.zeros(len(encoded) + 1, dtype=np.int64)
    if encoded:
        np.cumsum([len(e) + 1 for e in encoded], out=text_start[1:])
    return match_folded(b" ".join(encoded), text_start, index, core)


def match_folded(
    data: bytes, text_start: np.ndarray, index: TestIndex, core: str | None = None
) -> BatchMatches:
    """`match_texts` on texts already through `normalize.fold_bytes` (or with the same words after
    `ASCII_FOLD`), joined by one separator byte: text t is data[text_start[t] : text_start[t + 1] - 1]."""
    probes = [(k, index.keys[k], index.tables[k]) for k in index.lengths]
    n_words, first_word, cands = probe_windows(data, text_start, probes, core)
    pos_parts, unit_parts = [], []
    candidates = 0
    for k, (cand, h) in zip(index.lengths, cands, strict=True):
        candidates += cand.size
        if cand.size == 0:
            continue
        keys = index.keys[k]
        left = np.searchsorted(keys, h, "left")
        right = np.searchsorted(keys, h, "right")
        hit = right > left
        cand, left, right = cand[hit], left[hit], right[hit]
        if cand.size == 0:
            continue
        counts = right - left
        offsets = np.repeat(left - np.cumsum(counts) + counts, counts) + np.arange(counts.sum())
        pos_parts.append(np.repeat(cand, counts))
        unit_parts.append(index.gids[k][offsets].astype(np.int64))
    if not pos_parts:
        return BatchMatches(np.empty(0, np.int64), [], n_words, candidates)
    # Hits are rare: only the texts that have one are split into words (for verification and places).
    texts = _TextWords(data, text_start)
    hits = _verify(texts, first_word, np.concatenate(pos_parts), np.concatenate(unit_parts), index)
    found = np.unique(np.array([u for _, _, u in hits], dtype=np.int64))
    evidence = _summarise(hits, texts, index)
    return BatchMatches(found, evidence, n_words, candidates)


class _TextWords:
    """The folded words of each text of a batch, split on first use."""

    def __init__(self, data: bytes, text_start: np.ndarray) -> None:
        self.data = data
        self.text_start = text_start
        self._words: dict[int, list[bytes]] = {}

    def __getitem__(self, t: int) -> list[bytes]:
        words = self._words.get(t)
        if words is None:
            lo, hi = int(self.text_start[t]), int(self.text_start[t + 1]) - 1
            words = self._words[t] = self.data[lo:hi].translate(ASCII_FOLD).split()
        return words


def _verify(
    texts: _TextWords, first_word: np.ndarray, pos: np.ndarray, units: np.ndarray, index: TestIndex
) -> list[tuple[int, int, int]]:
    """(text, word within text, unit) for each candidate whose words really are the unit's words."""
    out = []
    seg_words: dict[int, list[bytes]] = {}
    text_of = np.searchsorted(first_word, pos, "right") - 1
    for p, u, t in zip(pos.tolist(), units.tolist(), text_of.tolist(), strict=True):
        seg_id = int(index.unit_segment[u])
        at, length = int(index.unit_pos[u]), int(index.unit_len[u])
        begin = p - int(index.unit_anchor[u])  # a short unit is probed through a window inside it
        if begin < first_word[t] or begin + length > first_word[t + 1]:
            continue  # the anchor matched, but the whole unit would run past the text
        words = seg_words.get(seg_id)
        if words is None:
            words = seg_words[seg_id] = index.segments[seg_id].text.split()
        local = begin - int(first_word[t])
        if texts[t][local : local + length] != words[at : at + length]:
            continue  # hash collision, or the anchor without the rest of the unit
        out.append((t, local, u))
    return out


def _summarise(hits: list[tuple[int, int, int]], texts: _TextWords, index: TestIndex) -> list[Evidence]:
    """Runs, the longest run, the place and the qualifying flag of each (text, item) pair."""
    groups: dict[tuple[int, int], list[tuple[int, int]]] = {}
    for t, w, u in hits:
        item = index.segments[int(index.unit_segment[u])].item
        groups.setdefault((t, item), []).append((w, u))
    out = []
    n = index.ngram
    for (t, item), members in sorted(groups.items()):
        # Runs: long units of one segment on one diagonal (text word - segment word) at consecutive words.
        runs: list[tuple[int, int, int, bool]] = []  # (first word, words, segment, qualifying)
        diagonal: dict[tuple[int, int], list[tuple[int, bool]]] = {}
        for w, u in members:
            seg = int(index.unit_segment[u])
            length = int(index.unit_len[u])
            shared = bool(index.unit_shared[u])
            if length >= n:
                diagonal.setdefault((seg, w - int(index.unit_pos[u])), []).append((w, not shared))
            else:
                brief = length < index.floor  # a brief question: every option must be there
                ok = not shared and (
                    (index.segments[seg].field in STANDALONE_FIELDS and not brief)
                    or _has_companions(item, seg, w, length, texts[t], index, brief)
                )
                runs.append((w, length, seg, ok))
        for (seg, _), ws in diagonal.items():
            ws.sort()
            run_start, prev, ok = ws[0][0], ws[0][0], ws[0][1]
            for w, unique in ws[1:]:
                if w == prev + 1:
                    prev, ok = w, ok or unique
                    continue
                runs.append((run_start, prev - run_start + n, seg, ok))
                run_start, prev, ok = w, w, unique
            runs.append((run_start, prev - run_start + n, seg, ok))
        qualifying = [r for r in runs if r[3]]
        first = min(qualifying or runs, key=lambda r: (r[0], -r[1]))
        out.append(
            Evidence(
                item=item,
                text=t,
                word=first[0],
                n_words=first[1],
                segment=first[2],
                longest=max(r[1] for r in runs),
                qualifying=bool(qualifying),
            )
        )
    return out


def _has_companions(
    item: int,
    seg: int,
    w: int,
    length: int,
    words: list[bytes],
    index: TestIndex,
    need_all: bool = False,
) -> bool:
    """Whether enough of the item's other fields sit next to a short match at word `w` of a text whose
    folded words are `words` (see the module docstring): two (or all, if fewer), or with `need_all` (a
    brief question) every one of them.

    Fields are chained outwards from the match, after it and before it: each must start (or end) within
    `COMPANION_GAP` words of the previous one, which leaves room for labels ("A)", "(b)", "1.", "Option
    C:") but not for a word that merely occurs somewhere on the page. The labels are never words of the
    item: whatever lettering, numbering, bullets or order the options are written in, the chain is the
    same.
    """
    own_group = index.segments[seg].group
    fields: dict[int, list[list[bytes]]] = {}
    for s in index.items[item].segments:
        segment = index.segments[s]
        if segment.group != own_group:
            fields.setdefault(segment.group, []).append(segment.text.split())
    if not fields:
        return False  # nothing but the question: a quiz page that shares it is not the item
    need = len(fields) if need_all else min(2, len(fields))
    budget = sum(max(len(v) for v in vs) for vs in fields.values()) + COMPANION_GAP * (len(fields) + 1)
    start, end = w, w + length
    after = words[end : end + budget]
    before = words[max(0, start - budget) : start][::-1]
    found = _chain(after, fields, set())
    if len(found) < need:
        found = _chain(before, {g: [v[::-1] for v in vs] for g, vs in fields.items()}, found)
    return len(found) >= need


def _chain(seq: list[bytes], fields: dict[int, list[list[bytes]]], used: set[int]) -> set[int]:
    """Groups found one after another from the start of `seq`, each within COMPANION_GAP words, and those
    words option labels only (`LABEL_WORDS`): on a page that lists other options under numbered labels,
    an item whose options are "1", "2", "3", "4" must not find them in the labels."""
    used = set(used)
    pos = 0
    while True:
        best: tuple[int, int, int] | None = None  # (gap, -length, group)
        room = 0  # label words from `pos` on: the gaps allowed
        while room < COMPANION_GAP and pos + room < len(seq) and is_label(seq[pos + room]):
            room += 1
        for group, variants in fields.items():
            if group in used:
                continue
            for v in variants:
                for gap in range(room + 1):
                    if best is not None and gap > best[0]:
                        break
                    if seq[pos + gap : pos + gap + len(v)] == v:
                        cand = (gap, -len(v), group)
                        best = cand if best is None or cand < best else best
                        break
        if best is None:
            return used
        used.add(best[2])
        pos += best[0] - best[1]


# Words that option labels and their headings normalise to: "A)", "(b)", "1.", "iv)", "Option C:",
# "Answer choices:". Only these may stand between a short field and its companions.
LABEL_WORDS = frozenset(
    [chr(c).encode() for c in range(ord("a"), ord("h") + 1)]
    + [str(i).encode() for i in range(1, 11)]
    + [r.encode() for r in ("i", "ii", "iii", "iv", "v", "vi", "vii", "viii", "ix", "x")]
    + [w.encode() for w in ("option", "options", "choice", "choices", "answer", "answers", "or", "and")]
)


def is_label(word: bytes) -> bool:
    return word in LABEL_WORDS
