"""Vectorised hashing equals its reference implementation (hypothesis), on any words."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.leakage.hashing import ngram_hash, padded, window_hashes, word_code, word_codes, word_spans

WORD = st.binary(min_size=1, max_size=40).map(lambda b: bytes(c if c > 32 else c + 33 for c in b))
SEP = st.sampled_from([b" ", b"  ", b"\x00", b" \x01 ", b"\t"])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(WORD, SEP), max_size=40), st.integers(1, 14))
def test_codes_and_windows_match_reference(pairs: list[tuple[bytes, bytes]], k: int) -> None:
    data = b"".join(w + s for w, s in pairs)
    buf = padded(data)
    starts, ends = word_spans(buf)
    assert [buf[a:b].tobytes() for a, b in zip(starts, ends, strict=True)] == [w for w, _ in pairs]
    codes = word_codes(buf, starts, ends)
    ref = [word_code(w) for w, _ in pairs]
    assert codes.tolist() == ref
    got = window_hashes(codes, (k,))[k].tolist()
    assert got == [ngram_hash(ref[i : i + k]) for i in range(len(ref) - k + 1)]


def test_spans_at_buffer_edges() -> None:
    buf = np.frombuffer(b"ab cd", dtype=np.uint8)
    s, e = word_spans(buf)
    assert s.tolist() == [0, 3] and e.tolist() == [2, 5]


def test_codes_need_the_padding() -> None:
    buf = np.frombuffer(b"abc", dtype=np.uint8)
    s, e = word_spans(buf)
    with pytest.raises(ValueError, match="PAD"):
        word_codes(buf, s, e)


def test_long_words_that_differ_only_in_the_middle_share_a_code() -> None:
    # Words over 16 bytes are coded from their first 16 and last 8 bytes (and length): such a collision
    # only costs a failed verification in the matcher (test_matcher checks that it never makes a finding).
    a, b = b"x" * 16 + b"A" + b"y" * 8, b"x" * 16 + b"B" + b"y" * 8
    assert word_code(a) == word_code(b)
    assert word_code(b"abcdefgh") != word_code(b"abcdefgi")
    assert word_code(b"a") != word_code(b"a\x00")
