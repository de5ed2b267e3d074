"""Text normalisation, applied identically to test items and to training text.

The rule (docs/scan.md repeats it):
1. Unicode NFKC, then case folding (`str.casefold`: lower case, plus ß -> ss and final sigma -> sigma),
   then NFKC again (a few case-folded characters are not NFKC-normal). Full-width letters, ligatures,
   compatibility forms and case all match their plain spellings.
2. Words are maximal runs of Unicode letters and digits (`[^\\W_]+`). Everything else (punctuation,
   underscores, symbols, whitespace, line breaks, control characters) only separates words.
So "Question: What's 2+2?\\n A) Four" has the words `question what s 2 2 a four`.

Two implementations of the same rule: `words` (regex over Python strings: the reference, used for test
items and for locating matches) and `fold_bytes` (what the scan uses: ASCII text is folded byte-wise by one
`bytes.translate`, which is the same rule on ASCII; other text takes the reference path once and is then
plain words). The property tests hold the two equal on arbitrary text.
"""

from __future__ import annotations

import re
import unicodedata

WORD_RE = re.compile(r"[^\W_]+")
_NON_WORD_RE = re.compile(r"[\W_]+")


def fold(text: str) -> str:
    """NFKC + case folding: the character half of the rule (word splitting is the other half)."""
    if text.isascii():
        return text.lower()  # on ASCII, NFKC is the identity and casefold is lower
    text = unicodedata.normalize("NFKC", text).casefold()
    return unicodedata.normalize("NFKC", text)


def words(text: str) -> list[str]:
    """The normalised words of `text` (the reference implementation of the rule)."""
    return WORD_RE.findall(fold(text))


def normalize(text: str) -> str:
    """The normalised text: its words joined by single spaces. Idempotent."""
    return " ".join(words(text))


# ASCII bytes -> folded bytes: upper case to lower case, letters and digits kept, every other ASCII byte
# (punctuation, whitespace, controls, NUL) to a space. Bytes >= 0x80 only reach it from the reference path,
# whose output is already words and spaces, and are kept: in UTF-8 they belong to a word.
ASCII_FOLD = bytes(
    (b + 32 if 65 <= b <= 90 else b if (48 <= b <= 57 or 97 <= b <= 122 or b >= 128) else 32)
    for b in range(256)
)


_NON_ASCII_RUN = re.compile(r"[^\x00-\x7f]+")


def _blank_non_words(match: re.Match[str]) -> str:
    return _NON_WORD_RE.sub(" ", match.group())


# Punctuation and spaces that English web text is full of: not letters or digits, unchanged into anything
# holding one by NFKC or case folding, never combining with a neighbour. Under the rule each is only a word
# separator, so its UTF-8 bytes can be blanked before anything else is looked at.
COMMON_SEPARATORS = frozenset(
    "\u2019\u2018\u201c\u201d\u2014\u2013\u2026\u00a0\u2022\u00ab\u00bb\u00b7\u2032\u2033"
    "\u2010\u2011\u2012\u2039\u203a\u00ad\u200b\u3000\ufeff\u00a9\u00ae\u00b0\u20ac\u00a3"
)
_ASCII_BYTES = bytes(range(128))


def fold_bytes(text: str) -> bytes:
    """UTF-8 bytes of `text` whose words, after `ASCII_FOLD`, are exactly `words(text)`.

    ASCII text is passed through unchanged (byte offset = character offset; `ASCII_FOLD` then applies the
    rule byte-wise). Text whose only non-ASCII characters are common separators (curly quotes, dashes,
    non-breaking spaces, ...) has them blanked in its UTF-8 bytes and takes the same byte-wise path. Other
    text is folded (NFKC, case folding) and only its runs of non-ASCII characters go through the regex,
    which turns the non-word ones into spaces; ASCII punctuation is left to `ASCII_FOLD`. Offsets into
    non-ASCII text are recovered with `char_offset`.
    """
    if text.isascii():
        return text.encode("ascii")
    data = text.encode("utf-8")
    others = set(data.translate(None, _ASCII_BYTES).decode("utf-8"))  # the distinct non-ASCII characters
    if others <= COMMON_SEPARATORS:
        for c in others:
            data = data.replace(c.encode("utf-8"), b" ")
        return data
    return _NON_ASCII_RUN.sub(_blank_non_words, fold(text)).encode("utf-8")


def word_bytes(text: str) -> list[bytes]:
    """`words(text)` as UTF-8 byte strings, through the scan's own fast path (equal by the property tests)."""
    return fold_bytes(text).translate(ASCII_FOLD).split()


def char_offset(text: str, word_index: int) -> int:
    """Character offset in `text` where its `word_index`-th normalised word begins (len(text) if none).

    On the fast path the folded bytes line up with the characters. Otherwise the text is walked in
    whitespace-separated chunks (NFKC and case folding never act across whitespace) and the chunk holding
    the word is bisected, so a match can be pointed at in the original whatever NFKC did to the lengths.
    """
    if text.isascii():
        folded = text.encode("ascii").translate(ASCII_FOLD)
        for i, m in enumerate(_FOLDED_WORD_RE.finditer(folded)):
            if i == word_index:
                return m.start()
        return len(text)
    seen = 0
    for chunk in re.finditer(r"\S+", text):
        s = chunk.group()
        count = len(words(s))
        if seen + count > word_index:
            need = word_index - seen
            lo, hi = 1, len(s)  # smallest prefix holding more than `need` words ends in the word's first char
            while lo < hi:
                mid = (lo + hi) // 2
                if len(words(s[:mid])) > need:
                    hi = mid
                else:
                    lo = mid + 1
            return chunk.start() + lo - 1
        seen += count
    return len(text)


_FOLDED_WORD_RE = re.compile(rb"[^ ]+")
