"""Comparing an endpoint's text with ours or with the reference's, after honest text handling (pure).

Honest text handling (part of H0, docs/fingerprint.md): Unicode NFKC normalisation, runs of whitespace
collapsed to one space, leading/trailing whitespace stripped, and, for echoes, the claimed tokenizer's
``decode(encode(text))``. What these explain is never evidence.

* ``first_divergence``: where an endpoint's generated text first departs from the reference's greedy
  continuation, as the index of the reference token that covers the first differing character (texts,
  not token ids, are compared, so how a server tokenises its own output does not matter).
* ``word_edits``: the word-level edits (deleted, inserted, replaced words) that remain between an echo
  and the text we sent; punctuation and whitespace are ignored.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

_WS = re.compile(r"\s+")
_WORD = re.compile(r"\w+", re.UNICODE)


def normalise_with_map(text: str) -> tuple[str, list[int]]:
    """NFKC, whitespace runs -> one space, stripped; and for each output char the input index it came from.

    NFKC is applied per character (it can expand one char into several: all map to the source index).
    """
    chars: list[str] = []
    index: list[int] = []
    pending_space = -1
    for i, ch in enumerate(text):
        for c in unicodedata.normalize("NFKC", ch):
            if c.isspace():
                if chars and pending_space < 0:
                    pending_space = i
                continue
            if pending_space >= 0:
                chars.append(" ")
                index.append(pending_space)
                pending_space = -1
            chars.append(c)
            index.append(i)
    return "".join(chars), index


def normalise(text: str) -> str:
    return normalise_with_map(text)[0]


@dataclass(frozen=True)
class Divergence:
    token: int | None  # index of the reference token where the texts first differ (None: no divergence)
    char: int | None  # offset in the reference's (raw) text
    endpoint_longer: bool = False  # the reference stopped (EOS) where the endpoint went on


def first_divergence(
    endpoint_text: str, ref_token_texts: Sequence[str], *, ref_stopped: bool, endpoint_stopped: bool
) -> Divergence:
    """First departure of ``endpoint_text`` from the concatenated ``ref_token_texts``.

    ``ref_stopped``: the reference's greedy path ended with EOS after the listed tokens (its EOS is a
    token at index ``len(ref_token_texts)``). ``endpoint_stopped``: the endpoint said it stopped
    (``finish_reason`` "stop") rather than being cut by ``max_tokens``. A text that is a prefix of the
    other is no divergence unless the shorter side *chose* to stop.
    """
    ref_text = "".join(ref_token_texts)
    starts = []
    pos = 0
    for t in ref_token_texts:
        starts.append(pos)
        pos += len(t)
    e_norm, _ = normalise_with_map(endpoint_text)
    r_norm, r_map = normalise_with_map(ref_text)
    n = min(len(e_norm), len(r_norm))
    k = next((i for i in range(n) if e_norm[i] != r_norm[i]), n)
    if k < n:
        return Divergence(_token_at(starts, r_map[k]), r_map[k])
    if len(e_norm) > len(r_norm):
        # the endpoint went on where the reference stopped: a departure at the reference's EOS
        return (
            Divergence(len(ref_token_texts), len(ref_text), True) if ref_stopped else Divergence(None, None)
        )
    if len(e_norm) < len(r_norm) and endpoint_stopped:
        # the endpoint chose to stop where the reference went on
        return Divergence(_token_at(starts, r_map[k]), r_map[k])
    return Divergence(None, None)


def _token_at(starts: list[int], char: int) -> int:
    # the last token starting at or before ``char`` (a boundary belongs to the token that starts there)
    lo, hi = 0, len(starts) - 1
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if starts[mid] <= char:
            lo = mid
        else:
            hi = mid - 1
    return lo


def word_at(text: str, char: int) -> str:
    """The word (\\w run, hyphens and dots inside allowed) that starts at or covers ``char``."""
    m = None
    for m in re.finditer(r"\w[\w\-\.]*\w|\w", text):
        if m.end() > char:
            break
    if m is None or m.end() <= char:
        return ""
    return m.group(0) if m.start() <= char or text[char : m.start()].strip() == "" else ""


@dataclass(frozen=True)
class WordEdits:
    deleted: tuple[str, ...]
    inserted: tuple[str, ...]

    @property
    def any(self) -> bool:
        return bool(self.deleted or self.inserted)


def word_edits(sent: str, returned: str) -> WordEdits:
    """Word-level edits from ``sent`` to ``returned`` (words after the end of ``sent`` are ignored: they
    are the generated continuation)."""
    a = _WORD.findall(normalise(sent))
    b = _WORD.findall(normalise(returned))
    matcher = difflib.SequenceMatcher(a=a, b=b, autojunk=False)
    deleted: list[str] = []
    inserted: list[str] = []
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op in ("delete", "replace"):
            deleted += a[i1:i2]
        if op == "replace" or (op == "insert" and i1 < len(a)):
            inserted += b[j1:j2]
    return WordEdits(tuple(deleted), tuple(inserted))


def echoed_at_all(sent: str, returned: str) -> bool:
    """Did the server echo the prompt (at least half its words, in order)? Otherwise echo was ignored."""
    a = _WORD.findall(normalise(sent))
    b = _WORD.findall(normalise(returned))[: len(a) + 8]
    if not a:
        return False
    matcher = difflib.SequenceMatcher(a=a, b=b, autojunk=False)
    return sum(block.size for block in matcher.get_matching_blocks()) >= 0.5 * len(a)
