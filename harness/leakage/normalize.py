"""Text normalisation shared by the test-set index and the corpus scan.

The rule (documented in docs/scan.md), applied identically to test items and training text:
1. Unicode NFKC (only when the text is not pure ASCII: NFKC leaves ASCII unchanged), so full-width
   letters, ligatures and compatibility forms match their plain spellings;
2. lower case (`str.lower`), then NFKC again for the few characters whose lower case is not NFKC;
3. words are maximal runs of Unicode letters and digits (`[^\\W_]+`); everything else (punctuation,
   underscores, symbols, whitespace, line breaks) only separates words.
So "Question: What's 2+2?\\n A) 4" has the words `question what s 2 2 a 4`.
"""

from __future__ import annotations

import re
import unicodedata

WORD_RE = re.compile(r"[^\W_]+")
# The batch tokeniser also yields the record separator "\x00" as a token of its own, so one regex pass
# over a whole batch keeps record boundaries (n-grams never span two records).
TOKEN_RE = re.compile(r"[^\W_]+|\x00")
SEPARATOR = "\x00"


def fold(text: str) -> str:
    """NFKC + lower case: the character-level half of the rule (word splitting is the other half)."""
    if text.isascii():
        return text.lower()
    text = unicodedata.normalize("NFKC", text).lower()
    return unicodedata.normalize("NFKC", text)


def words(text: str) -> list[str]:
    """The normalised words of `text`."""
    return WORD_RE.findall(fold(text))


def normalize(text: str) -> str:
    """The normalised text: its words joined by single spaces (idempotent)."""
    return " ".join(words(text))


# Common non-ASCII punctuation and spaces that are word separators under the rule and whose NFKC form
# contains no letter or digit: removing them first lets most "almost ASCII" web text take the fast path.
_PUNCT_RE = re.compile("[\u00a0\u00ab\u00b7\u00bb\u2010-\u2015\u2018-\u201f\u2022\u2026\u2032\u2033\u3000]")
_ASCII_FOLD = bytes(
    (b if (chr(b).isalnum() and not chr(b).isupper()) or b == 0 or b >= 128 else ord(chr(b).lower()) if chr(b).isupper() else 32)
    for b in range(256)
)


def to_bytes(text: str) -> bytes:
    """UTF-8 bytes whose ASCII-folded words (see `ascii_fold`) are exactly `words(text)`.

    ASCII text is passed through (folding it byte-wise is the same rule); other text is normalised in
    Python first (the slow path) and then contains only words and spaces.
    """
    if SEPARATOR in text:
        text = text.replace(SEPARATOR, " ")
    if not text.isascii():
        stripped = _PUNCT_RE.sub(" ", text)
        if not stripped.isascii():
            return " ".join(words(text)).encode("utf-8")
        text = stripped
    return text.encode("ascii")


def encode_batch(texts: list[str]) -> bytes:
    """Folded UTF-8 of many texts separated by NUL bytes: lower-case ASCII letters, digits, non-ASCII
    word bytes, spaces, and NUL. One `bytes.translate` folds the whole batch."""
    return b"\0".join(map(to_bytes, texts)).translate(_ASCII_FOLD)
