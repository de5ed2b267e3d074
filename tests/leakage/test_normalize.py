"""The normalisation rule: examples, and the fast byte path held equal to the reference by hypothesis."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from harness.leakage.normalize import ASCII_FOLD, char_offset, fold_bytes, normalize, word_bytes, words

# Text that exercises the rule: ASCII, punctuation, controls, ligatures, fractions, full-width forms,
# combining marks, Greek sigma, German sharp s, CJK, curly quotes, dashes, non-breaking spaces, emoji.
ALPHABET = st.sampled_from(
    [
        *"abcXYZ019 _-.,;:'\"!?()[]{}<>/\\|@#$%^&*+=~`\n\t\r\x00\x07",
        *[
            "é",
            "É",
            "e\u0301",
            "ß",
            "ẞ",
            "Σ",
            "ς",
            "σ",
            "ﬁ",
            "½",
            "²",
            "Ａ",
            "ｂ",
            "①",
            "™",
            "’",
            "“",
            "—",
            "…",
        ],
        *[
            "\u00a0",
            "\u3000",
            "数",
            "据",
            "。",
            "😀",
            "\u200b",
            "\u00ad",
            "\u2013",
            "\u2022",
            "«",
            "»",
            "©",
            "€",
            "\ufeff",
            "İ",
            "ǅ",
            "Ⅻ",
            "㎏",
            "﹏",
        ],
    ]
)
TEXT = st.lists(ALPHABET, max_size=60).map("".join)


def test_rule_examples() -> None:
    assert words("Question: What's 2+2?\n A) Four") == ["question", "what", "s", "2", "2", "a", "four"]
    assert normalize("  HeLLo,\tWORLD!! ") == "hello world"
    assert words("Ｆｕｌｌ－ｗｉｄｔｈ ﬁne") == ["full", "width", "fine"]
    assert words("Straße ΟΔΟΣ") == ["strasse", "οδοσ"]
    assert words("snake_case and x²") == ["snake", "case", "and", "x2"]
    assert words("don’t — “quote”") == ["don", "t", "quote"]


@settings(max_examples=400, deadline=None)
@given(TEXT)
def test_fast_path_equals_reference(text: str) -> None:
    assert fold_bytes(text).translate(ASCII_FOLD).split() == [w.encode() for w in words(text)]
    assert word_bytes(text) == [w.encode() for w in words(text)]


@settings(max_examples=200, deadline=None)
@given(TEXT)
def test_normalize_is_idempotent(text: str) -> None:
    once = normalize(text)
    assert normalize(once) == once
    assert words(once) == words(text)


@settings(max_examples=300, deadline=None)
@given(TEXT)
def test_char_offset_points_at_the_word(text: str) -> None:
    n = len(words(text))
    for i in range(n):
        off = char_offset(text, i)
        # The word begins in the character at `off`: before it fewer than i+1 words, through it more than i.
        assert len(words(text[:off])) <= i < len(words(text[: off + 1]))
    assert char_offset(text, n) == len(text)


def test_ascii_offsets_are_byte_offsets() -> None:
    text = "A quiz: Which planet is closest to the Sun?"
    assert [char_offset(text, i) for i in range(3)] == [0, 2, 8]
