"""`--rephrased`: a second stage that finds test items rewritten in other words, which n-grams miss.

Yang et al. (2023, "Rethinking Benchmark and Contamination for Language Models with Rephrased Samples",
arXiv:2311.04850) showed that a test set paraphrased (other words, other order, same content) passes n-gram
decontamination and still inflates scores. Their decontaminator retrieves candidates by embedding
similarity and asks an LLM to judge them; here both steps are lexical and local (no model, no network):

1. Candidates: the item's selective *content words* (normalised words, not stop words, at least 3 letters
   or a number, shared by at most `MAX_DF` items) are looked up in every training text, batch by batch
   with numpy; a text window of about twice the item's length that holds at least `MIN_SHARED` of them,
   and at least `MIN_SHARE` of the item's selective words, is a candidate.
2. Confirmation, per candidate window:
   - `score`: rapidfuzz `token_set_ratio` of the item's normalised text against the window's (word order
     does not matter; shared words count, extra words on either side cost less than in a plain ratio);
   - the numbers signature (math word problems): `numbers_present`, whether every number of the item is in
     the window (with its multiplicity), and `numbers_in_order`, the longest common subsequence of the
     item's numbers and the window's, as a share of the item's. A GSM8K problem is a chain of quantities; a
     rephrasing keeps them (it must, to keep the answer) and often their order; a reordered one keeps
     them all but not in order, so the rule uses presence and reports the order.
   A candidate is a rephrased match when `score >= SCORE_ALONE` with `SHARE_ALONE` of the item's
   selective words in the window, or, for a GSM8K problem with at least `MIN_NUMBERS` numbers of which at
   least one is not a small count (> 12), when all of them are in the window and
   `score >= SCORE_WITH_NUMBERS`. Every candidate must also share `MIN_RARE` of the item's rare words
   (those of at most `RARE_DF` items): the 100 MMLU moral-scenario items share their instructions, not
   their scenarios.
The thresholds are set from the measurements in docs/scan.md (generated rephrasings of every GSM8K, ARC and
MMLU item for recall; GSM8K's train split against its test set for false alarms). Matches are reported
apart from n-gram matches (`rephrased` in leakage.json), with their scores; items already dirty by n-grams
are not listed again.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from harness.data.registry import get_spec
from harness.leakage.hashing import padded, word_codes, word_spans
from harness.leakage.index import TestIndex
from harness.leakage.normalize import ASCII_FOLD, fold_bytes

MAX_DF = 200  # a content word shared by more items than this does not select candidates
MIN_SHARED = 3  # content words a candidate window must share with the item
MIN_SHARE = 0.6  # and this share of the item's content words
MIN_RARE = 2  # and at least this many of its rare words (all, if it has fewer)
SCORE_ALONE = 85.0
SHARE_ALONE = 0.8  # with SCORE_ALONE: share of the item's selective words in the window
SCORE_WITH_NUMBERS = 70.0
MIN_NUMBERS = 3
RARE_DF = 20  # a content word of at most this many items is rare: a match must share some of the item's
WINDOW_FACTOR = 2.0  # candidate windows span about this many times the item's length in words
RULE_VERSION = 1


def window_score(item_text: str, window_text: str) -> float:
    """rapidfuzz's token_set_ratio: word order free, extra words on one side cost little."""
    from rapidfuzz import fuzz

    return fuzz.token_set_ratio(item_text, window_text)


def rephrase_config() -> dict[str, float | int]:
    """The rule's parameters, as leakage.json records them."""
    return {
        "rule_version": RULE_VERSION,
        "max_df": MAX_DF,
        "min_shared": MIN_SHARED,
        "min_share": MIN_SHARE,
        "min_rare": MIN_RARE,
        "rare_df": RARE_DF,
        "score_alone": SCORE_ALONE,
        "share_alone": SHARE_ALONE,
        "score_with_numbers": SCORE_WITH_NUMBERS,
        "min_numbers": MIN_NUMBERS,
        "window_factor": WINDOW_FACTOR,
    }


STOP_WORDS = frozenset(
    [
        "a",
        "about",
        "above",
        "after",
        "again",
        "against",
        "all",
        "am",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "because",
        "been",
        "before",
        "being",
        "below",
        "between",
        "both",
        "but",
        "by",
        "can",
        "did",
        "do",
        "does",
        "doing",
        "down",
        "during",
        "each",
        "few",
        "for",
        "from",
        "further",
        "had",
        "has",
        "have",
        "having",
        "he",
        "her",
        "here",
        "hers",
        "herself",
        "him",
        "himself",
        "his",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "itself",
        "just",
        "me",
        "more",
        "most",
        "my",
        "myself",
        "no",
        "nor",
        "not",
        "now",
        "of",
        "off",
        "on",
        "once",
        "only",
        "or",
        "other",
        "our",
        "ours",
        "ourselves",
        "out",
        "over",
        "own",
        "same",
        "she",
        "should",
        "so",
        "some",
        "such",
        "than",
        "that",
        "the",
        "their",
        "theirs",
        "them",
        "themselves",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "to",
        "too",
        "under",
        "until",
        "up",
        "very",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "yours",
        "yourself",
        "yourselves",
        "also",
        "many",
        "much",
        "one",
        "two",
        "three",
        "four",
        "five",
        "six",
        "seven",
        "eight",
        "nine",
        "ten",
        "per",
        "total",
        "each",
        "how",
    ]
)
_NUMBER = re.compile(rb"^[0-9]+$")
_STOP_BYTES = frozenset(w.encode() for w in STOP_WORDS)


def content_words(words: Sequence[bytes]) -> list[bytes]:
    """Normalised words that carry content: not stop words, 3+ characters, or a number."""
    return [w for w in words if (len(w) >= 3 or w.isdigit()) and w not in _STOP_BYTES]


def numbers(words: Sequence[bytes]) -> list[int]:
    """The numbers in a normalised word sequence, thousands groups joined ("1 000" -> 1000)."""
    out: list[int] = []
    prev_digits = False
    for w in words:
        if _NUMBER.match(w):
            if prev_digits and len(w) == 3 and out and out[-1] < 1000 and len(w) == 3:
                out[-1] = out[-1] * 1000 + int(w)
            else:
                out.append(int(w[:18]))
            prev_digits = True
        else:
            prev_digits = False
    return out


def all_present(item: Sequence[int], window: Sequence[int]) -> bool:
    """Whether every number of the item (with its multiplicity) is in the window, in any order."""
    have: dict[int, int] = {}
    for n in window:
        have[n] = have.get(n, 0) + 1
    for n in item:
        if not have.get(n):
            return False
        have[n] -= 1
    return True


def in_order(item: Sequence[int], window: Sequence[int]) -> float:
    """Longest common subsequence of two number sequences, as a share of the item's."""
    if not item:
        return 0.0
    prev = [0] * (len(window) + 1)
    for a in item:
        cur = [0]
        for j, b in enumerate(window):
            cur.append(prev[j] + 1 if a == b else max(prev[j + 1], cur[j]))
        prev = cur
    return prev[-1] / len(item)


@dataclass(frozen=True)
class RephraseIndex:
    """Content-word postings of the items (built from the test-set index, pure)."""

    codes: np.ndarray  # sorted word codes of the selective content words
    starts: np.ndarray  # postings of codes[i]: items[starts[i]:starts[i+1]]
    items: np.ndarray
    item_words: list[frozenset[bytes]]  # content words of each item (selective or not)
    item_selective: np.ndarray  # how many of them select candidates (shared by at most MAX_DF items)
    item_rare: list[frozenset[bytes]]  # those shared by at most RARE_DF items
    item_is_math: np.ndarray  # whether the numbers signature applies (GSM8K)
    item_text: list[str]  # normalised text scored against windows
    item_numbers: list[list[int]]
    item_len: np.ndarray  # words of the item's scored text

    @classmethod
    def build(cls, index: TestIndex) -> RephraseIndex:
        segs = index.segments
        blob, off = segs.blob, segs.offsets.tolist()
        fields, group = segs.field, segs.group.tolist()
        starts_of = index.items.seg_starts.tolist()
        texts: list[str] = []
        words_of: list[frozenset[bytes]] = []
        nums: list[list[int]] = []
        lengths = []
        for i, bench in enumerate(index.items.benchmark):
            question: list[bytes] = []
            choices: list[bytes] = []
            for s in range(starts_of[i], starts_of[i + 1]):
                if group[s] != s:
                    continue  # a variant spelling of another segment
                f = fields[s]
                if f in ("question", "ctx"):
                    question.append(blob[off[s] : off[s + 1]])
                elif f.startswith("choices[") and bench != "gsm8k":
                    choices.append(blob[off[s] : off[s + 1]])
            words = b" ".join(question + choices).split()
            texts.append(b" ".join(words).decode("utf-8", "replace"))
            words_of.append(frozenset(content_words(words)))
            nums.append(numbers(b" ".join(question).split()))
            lengths.append(len(words))
        df: dict[bytes, int] = {}
        for ws in words_of:
            for w in ws:
                df[w] = df.get(w, 0) + 1
        code_of = _codes([w for w in df if df[w] <= MAX_DF])
        postings: dict[int, list[int]] = {}
        for i, ws in enumerate(words_of):
            for w in ws:
                if df[w] <= MAX_DF:
                    postings.setdefault(code_of[w], []).append(i)
        keys = np.array(sorted(postings), dtype=np.uint64)
        flat = [postings[int(k)] for k in keys]
        starts = np.zeros(len(flat) + 1, np.int64)
        np.cumsum([len(p) for p in flat], out=starts[1:])
        items = np.array([i for p in flat for i in p], dtype=np.int64)
        selective = np.array([sum(df[w] <= MAX_DF for w in ws) for ws in words_of], dtype=np.int64)
        rare = [frozenset(w for w in ws if df[w] <= RARE_DF) for ws in words_of]
        # the numbers signature applies to math word problems (the spec's kind; GSM8K)
        is_math = {name: get_spec(name).kind == "math" for name in index.benchmarks}
        math = np.array([is_math[it.benchmark] for it in index.items], dtype=bool)
        return cls(
            keys, starts, items, words_of, selective, rare, math, texts, nums, np.array(lengths, np.int64)
        )


def _codes(words: list[bytes]) -> dict[bytes, int]:
    """The scan's word code of each word, in one vectorised pass."""
    if not words:
        return {}
    buf = padded(b" ".join(words))
    s, e = word_spans(buf)
    return dict(zip(words, word_codes(buf, s, e).tolist(), strict=True))


@dataclass
class RephraseMatch:
    item: int
    text: int  # position of the text in the batch
    word: int  # first word of the window in the text
    n_words: int
    score: float
    numbers_in_order: float | None
    numbers_present: bool | None
    shared_words: int


def find_rephrased(
    texts: Sequence[str], rindex: RephraseIndex, skip: set[int] | None = None, keep_all: bool = False
) -> list[RephraseMatch]:
    """Rephrased matches in a batch of texts: the best window per (text, item) that the rule accepts
    (with `keep_all`, every scored candidate: for calibrating the rule)."""

    encoded = [fold_bytes(t) for t in texts]
    raw = b" ".join(encoded).translate(ASCII_FOLD)
    buf = padded(raw)
    text_start = np.zeros(len(encoded) + 1, dtype=np.int64)
    if encoded:
        np.cumsum([len(e) + 1 for e in encoded], out=text_start[1:])
    starts, ends = word_spans(buf)
    if starts.size == 0 or rindex.codes.size == 0:
        return []
    first_word = np.searchsorted(starts, text_start)
    codes = word_codes(buf, starts, ends)
    at = np.searchsorted(rindex.codes, codes)
    at = np.minimum(at, rindex.codes.size - 1)
    hit = np.flatnonzero(rindex.codes[at] == codes)
    if hit.size == 0:
        return []
    k = at[hit]
    counts = rindex.starts[k + 1] - rindex.starts[k]
    pos = np.repeat(hit, counts)
    offsets = np.repeat(rindex.starts[k] - np.cumsum(counts) + counts, counts) + np.arange(counts.sum())
    item = rindex.items[offsets]
    text = np.searchsorted(first_word, pos, "right") - 1
    # Pairs (text, item) with enough distinct shared words anywhere in the text: the cheap filter.
    order = np.lexsort((pos, item, text))
    pos, item, text = pos[order], item[order], text[order]
    pair = text * (len(rindex.item_text) + 1) + item
    bounds = np.flatnonzero(np.concatenate(([True], pair[1:] != pair[:-1], [True])))
    out: list[RephraseMatch] = []
    for b0, b1 in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True):
        if b1 - b0 < MIN_SHARED:
            continue
        it, t = int(item[b0]), int(text[b0])
        if skip and it in skip:
            continue
        need = max(MIN_SHARED, int(np.ceil(MIN_SHARE * rindex.item_selective[it])))
        if b1 - b0 < need:
            continue
        ps = pos[b0:b1]
        words_at = [raw[starts[p] : ends[p]] for p in ps.tolist()]
        span = int(WINDOW_FACTOR * rindex.item_len[it]) + 4
        best = _best_window(ps.tolist(), words_at, span, need)
        if best is None:
            continue
        lo, hi, shared, found = best
        rare = rindex.item_rare[it]
        if len(found & rare) < min(MIN_RARE, len(rare)):
            continue  # only words that many items share: stock phrasing, not this item
        pad = max(2, int(rindex.item_len[it]) // 4)
        w0, w1 = max(int(first_word[t]), lo - pad), min(int(first_word[t + 1]), hi + pad + 1)
        window = raw[starts[w0] : ends[w1 - 1]].split()
        score = float(window_score(rindex.item_text[it], b" ".join(window).decode("utf-8", "replace")))
        item_nums = rindex.item_numbers[it]
        window_nums = numbers(window)
        nio = round(in_order(item_nums, window_nums), 4) if item_nums else None
        present = all_present(item_nums, window_nums) if item_nums else None
        share = shared / max(1, int(rindex.item_selective[it]))
        if keep_all or accept(score, item_nums if rindex.item_is_math[it] else [], present, share):
            out.append(
                RephraseMatch(it, t, w0 - int(first_word[t]), w1 - w0, round(score, 1), nio, present, shared)
            )
    return out


def accept(score: float, item_numbers: Sequence[int], numbers_present: bool | None, share: float) -> bool:
    """The confirmation rule (see the module docstring); `item_numbers` empty where the signature does not
    apply (not a math word problem)."""
    if score >= SCORE_ALONE and share >= SHARE_ALONE:
        return True
    strong = len(item_numbers) >= MIN_NUMBERS and any(n > 12 for n in item_numbers)
    return bool(strong and numbers_present and score >= SCORE_WITH_NUMBERS)


def _best_window(
    positions: list[int], words: list[bytes], span: int, need: int
) -> tuple[int, int, int, set[bytes]] | None:
    """The window of at most `span` words holding the most distinct shared words (>= need), or None."""
    best: tuple[int, int, int, set[bytes]] | None = None
    seen: dict[bytes, int] = {}
    j = 0
    for p, w in zip(positions, words, strict=True):
        seen[w] = seen.get(w, 0) + 1
        while p - positions[j] >= span:
            old = words[j]
            seen[old] -= 1
            if not seen[old]:
                del seen[old]
            j += 1
        if len(seen) >= need and (best is None or len(seen) > best[2]):
            best = (positions[j], p, len(seen), set(seen))
    return best
