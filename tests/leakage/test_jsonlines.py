"""The compiled JSON Lines parser (`_jsonlines.c`) against the per-record reader it stands in for: orjson,
`fields.record_texts` and `normalize.fold_bytes`.

The contract: a line the parser calls FAST is a JSON object that orjson reads, with text where we look,
and its texts are, in order, exactly the strings record_texts returns, with the same words after folding
(and the raw buffer holds them as UTF-8, byte for byte). Whatever it cannot vouch for it calls SLOW, and the
reader handles it as before. The tests also check that FAST is what plain lines get, so that the fast path
cannot silently switch itself off."""

from __future__ import annotations

import json
import unicodedata

import numpy as np
import orjson
import pytest
import xxhash
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.leakage import batches, hashing
from harness.leakage.fields import parse_field, record_texts
from harness.leakage.normalize import ASCII_FOLD, COMMON_SEPARATORS, fold_bytes

FAST, BLANK, SLOW, TOO_LARGE = batches.FAST, batches.BLANK, batches.SLOW, batches.TOO_LARGE
MIN_CHARS = 15


@pytest.fixture(scope="module", autouse=True)
def compiled():
    if hashing._fastscan is None:
        pytest.skip("the compiled core is not built")


def words(b: bytes) -> list[bytes]:
    return b.translate(ASCII_FOLD).split()


def parse(lines: list[bytes], fields=None, min_chars=MIN_CHARS, max_line=1 << 20, max_text=1 << 20, every=1):
    keys = batches.parser_keys([parse_field(f) for f in fields] if fields else None)
    assert keys is not False
    block = b"".join(line + b"\n" for line in lines)
    return batches.parse_block(block, keys, min_chars, max_line, max_text, every)


def check(
    lines: list[bytes], fields=None, min_chars=MIN_CHARS, max_line=1 << 20, max_text=1 << 20
) -> list[int]:
    """Parse `lines` and hold every FAST line to the reference; return the statuses."""
    p = parse(lines, fields, min_chars, max_line, max_text)
    paths = [parse_field(f) for f in fields] if fields else None
    assert p.lines.shape[0] == len(lines)
    t = 0
    out = []
    for i, line in enumerate(lines):
        status, n = int(p.lines[i, 2]), int(p.lines[i, 3])
        out.append(status)
        if len(line) > max_line:
            assert status == TOO_LARGE
            continue
        if not line.strip():
            assert status == BLANK
            continue
        if status != FAST:
            assert status == SLOW and n == 0
            continue
        value = orjson.loads(line)  # a FAST line is JSON that orjson reads ...
        texts, present = record_texts(value, paths, min_chars)
        assert present and n == len(texts), (line, texts)  # ... with exactly record_texts' strings
        joined = "\n".join(s for _, s in texts).encode("utf-8")  # the record's text for --profile
        assert int(p.rec_hash[i]) == xxhash.xxh3_64_intdigest(joined)
        first = t  # the line's first text
        for name_text in texts:
            text = name_text[1]
            a, b, flag, _ = (int(x) for x in p.texts[t])
            t += 1
            assert len(text) <= max_text
            # the string itself, for --profile: in probe as it is, or (folded there) copied to raw
            at, start = int(p.raw_at[i]), int(p.texts[first, 0])
            held = p.raw[at + a - start : at + b - start] if at >= 0 else p.probe[a:b]
            assert held == text.encode("utf-8")
            assert at >= 0 or flag != batches.FOLDED
            got = p.probe[a:b]
            if flag == batches.OTHER:
                assert got == text.encode("utf-8")  # left to fold_bytes, which gets the exact string
            else:
                assert flag == (batches.ASCII if text.isascii() else batches.FOLDED)
                assert words(got) == words(fold_bytes(text))  # the words fold_bytes gives
    assert t == p.texts.shape[0]
    return out


def test_plain_lines_are_fast_and_exact() -> None:
    recs = [
        {
            "url": "https://example.net/a/long/path",
            "date": "2024-05-01",
            "text": "The cat sat on the mat. " * 5,
        },
        {"text": "Naïve café owners in Zürich said “hello” — twice… Ελληνικά Русский 机器学习。 😀", "n": 3},
        {"id": 7, "score": -0.25, "ok": True, "none": None, "tags": [1, 2.5, False], "meta": {"x": [{}]}},
        {"text": "short"},
        {},
        {"text": "Straße, ÉCOLE, ĲSSEL, ﬁne, ½, Ⅻ, ŉ, İstanbul — and e\u0301 combining, 가각 한국어"},
    ]
    lines = [orjson.dumps(r) for r in recs] + [json.dumps(r).encode() for r in recs]  # \\u escapes too
    lines += [b"", b"  \t ", b'  {"text": "spaced out record here"}  \r']
    status = check(lines)
    assert status[0] == FAST and status[1] == FAST and status[6] == FAST and status[7] == FAST
    assert status[2] == SLOW  # no string at all: no_text, decided by the reader
    assert status[3] == FAST  # a record whose only string is short is read, with no text
    assert status[4] == SLOW and status[10] == SLOW  # {}: no string
    assert status[12:14] == [BLANK, BLANK] and status[14] == FAST


def test_whatever_the_parser_cannot_vouch_for_is_slow() -> None:
    lines = [
        b'{"text": "a lone surrogate \\ud800 in here"}',
        b'{"text": "invalid utf-8 \xff here, a long one"}',
        b'{"text": "truncated record that never ends',
        b'{"text": "duplicate keys are a dict question", "text": "the last value wins in orjson"}',
        b'{"te\\u0078t": "a key with an escape in it, long"}',
        b'{"text": "a number orjson may reject follows", "x": 1e400}',
        b'{"text": "a nineteen-digit integer follows", "x": 1234567890123456789}',
        b'{"text": "nested strings are named by path", "meta": {"title": "a title"}}',
        b'["a top-level array of strings, long enough"]',
        b'"a top-level string, long enough to matter"',
        b'\xef\xbb\xbf{"text": "a byte order mark before the object"}',
        b'{"text": "a raw\ttab inside a string is not JSON"}',
        b'{"text": "trailing content"} x',
        b'{"text": "a trailing comma", }',
        b'{"text": "' + b"[" * 70 + b'"}',  # a string, fine: not nesting
        b'{"x": ' + b"[" * 70 + b"]" * 70 + b', "text": "deep nesting beyond the limit"}',
        b'{"text": "a long enough text but -0. is no number", "n": -0.}',
    ]
    status = check(lines)
    assert status[:14] == [SLOW] * 14
    assert status[14] == FAST and status[15] == SLOW and status[16] == SLOW


def test_field_keys_in_field_order_and_missing_fields() -> None:
    lines = [
        b'{"text": "the body of the page, long enough", "title": "the title of the page, long enough"}',
        b'{"title": "only a title here, long enough"}',
        b'{"body": "neither field is here, long enough"}',
        b'{"text": ["not", "a", "string"], "title": 5}',
        b'{"text": {"nested": "strings under a field"}}',
    ]
    status = check(lines, fields=["title", "text"])
    assert status == [FAST, FAST, SLOW, SLOW, SLOW]  # missing_field and nested paths: the reader decides
    p = parse(lines[:1], fields=["title", "text"])
    a, b = int(p.texts[0, 0]), int(p.texts[0, 1])
    assert p.probe[a:b].startswith(b"the title")  # --field order, not the line's order
    assert batches.parser_keys([parse_field("meta.title")]) is False
    assert batches.parser_keys([parse_field("text"), parse_field("text")]) is False
    assert batches.parser_keys([parse_field("messages[].content")]) is False


def test_limits_too_large_lines_and_long_texts() -> None:
    line = orjson.dumps({"text": "word " * 100})
    assert check([line, line], max_line=len(line) - 1) == [TOO_LARGE, TOO_LARGE]
    assert check([line], max_text=100) == [SLOW]  # cut into pieces by the reader
    assert check([line], max_text=len("word " * 100)) == [FAST]
    assert check([orjson.dumps({"a": "x" * 14, "b": "y" * 15})]) == [FAST]  # min_chars: b only
    assert check([orjson.dumps({"a": "é"})]) == [FAST]  # non-ASCII strings are kept whatever their length


def test_separators_are_the_normalisation_s() -> None:
    assert {chr(c) for c in hashing._fastscan.separators()} == set(COMMON_SEPARATORS)


def test_the_fold_table_holds_for_every_classed_code_point() -> None:
    """Every code point the table folds, between letters, against fold_bytes (exhaustive: 280 k of them)."""
    version, starts, classes = hashing._fastscan.fold_table()
    if version != unicodedata.unidata_version:
        pytest.skip(f"table made for Unicode {version}, this Python has {unicodedata.unidata_version}")
    bounds = [*starts[1:], 0x110000]
    cps = [cp for s, e, k in zip(starts, bounds, classes, strict=True) if k for cp in range(s, e)]
    assert len(cps) > 250_000
    lines = []
    for i in range(0, len(cps), 500):
        chunk = cps[i : i + 500]
        lines.append(orjson.dumps({"t": " ".join(f"a{chr(c)}b" for c in chunk)}))
        lines.append(orjson.dumps({"t": "".join(chr(c) for c in chunk) + "Z"}))
    p = parse(lines, min_chars=0, max_line=1 << 30, max_text=1 << 30)
    assert np.all(p.lines[:, 2] == FAST) and np.all(p.texts[:, 2] == batches.FOLDED)
    for (a, b, _, _), line in zip(p.texts.tolist(), lines, strict=True):
        assert words(p.probe[a:b]) == words(fold_bytes(orjson.loads(line)["t"]))


_CHARS = st.sampled_from(
    [*"aZ09 .,-_\"'\\/\n\t€", "é", "É", "ß", "ﬁ", "½", "e\u0301", "\u0301", "Ω", "ω", "Ж", "机", "。", "😀",
     "\u00a0", "\u2019", "\u200b", "İ", "ŉ", "\ufeff", "가", "\u1100", "\u1161", "Ⅻ", "\U0001d400", "\x00", "\x7f"]
) | st.characters(codec="utf-8")  # fmt: skip
_TEXT = st.lists(_CHARS, max_size=40).map("".join)
_SCALAR = (
    st.none()
    | st.booleans()
    | st.integers(-(10**15), 10**15)
    | st.floats(-1e6, 1e6, allow_nan=False).map(lambda f: round(f, 3))
    | st.integers(10**17, 10**21)  # 18+ digits: left to orjson
    | st.floats(allow_nan=False, allow_infinity=False)  # exponents: left to orjson
)
_NESTED = st.recursive(
    _SCALAR,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_TEXT, inner, max_size=2),
    max_leaves=4,
)
_NESTED_STRINGS = st.recursive(
    _TEXT, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_TEXT, inner, max_size=2), max_leaves=4
)
_PLAIN_KEY = st.sampled_from(["text", "url", "title", "meta", "x", "id", ""])
_KEY = st.one_of(_PLAIN_KEY, _PLAIN_KEY, _PLAIN_KEY, st.sampled_from(["é", "ключ"]), _TEXT)
_RECORD = st.builds(
    lambda base, extra: {**base, **extra},
    st.fixed_dictionaries(
        {"text": _TEXT},
        optional={"url": _TEXT, "title": _TEXT, "id": _SCALAR, "meta": st.one_of(_NESTED, _NESTED_STRINGS)},
    ),
    st.dictionaries(_KEY, st.one_of(_TEXT, _SCALAR, _NESTED, _NESTED_STRINGS), max_size=3),
)


def _mutate(data: bytes, rnd: st.DataObject) -> bytes:
    """Half the lines as written, the others damaged the ways real files are."""
    kind = rnd.draw(st.integers(0, 9))
    if kind <= 4 or not data:
        return data
    at = rnd.draw(st.integers(0, len(data) - 1))
    if kind == 5:
        return data[:at]  # truncated
    if kind == 6:
        return data[:at] + bytes([rnd.draw(st.integers(0, 255))]) + data[at + 1 :]  # one byte changed
    if kind == 7:
        insert = rnd.draw(st.sampled_from([b"\\", b'"', b"\\u", b"\xc3", b"\xed\xa0\x80", b",", b"}"]))
        return data[:at] + insert + data[at:]
    if kind == 8:
        return data.replace(b"\\u00", b"\\ud8", 1)
    return data + rnd.draw(st.sampled_from([b" ", b"\r", b"x", b"\x0c", b"{}"]))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_RECORD, min_size=1, max_size=6), st.data(), st.booleans(), st.integers(0, 8))
def test_arbitrary_lines_fast_means_exact(records, rnd, ascii_escapes, min_chars) -> None:
    lines, intact = [], []
    for r in records:
        compact = rnd.draw(st.booleans())
        data = json.dumps(r, ensure_ascii=ascii_escapes, separators=(",", ":") if compact else None).encode()
        damaged = _mutate(data, rnd).replace(b"\n", b" ")
        lines.append(damaged)
        intact.append(damaged == data)
    fields = rnd.draw(
        st.none()
        | st.lists(st.sampled_from(["text", "title", "url", "é"]), min_size=1, max_size=3, unique=True)
    )
    status = check(lines, fields=fields, min_chars=min_chars)
    # liveness: an intact object of strings under plain keys is always FAST
    for r, line, s, ok in zip(records, lines, status, intact, strict=True):
        plain = all(isinstance(v, str) for v in r.values()) and all(k.isalnum() or k == "" for k in r)
        if plain and ok and fields is None and (not ascii_escapes or all(k.isascii() for k in r)):
            assert s == FAST, line
