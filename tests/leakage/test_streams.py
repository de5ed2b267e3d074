"""Line splitting in bounded memory: any chunking gives the same lines; long lines are not kept."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from harness.leakage.hashing import _fastscan
from harness.leakage.streams import Block, iter_blocks, iter_lines


def chunked(data: bytes, cuts: list[int]):
    points = sorted({min(c, len(data)) for c in cuts})
    last = 0
    for p in [*points, len(data)]:
        if p > last:
            yield data[last:p]
            last = p


@settings(max_examples=300, deadline=None)
@given(
    st.binary(max_size=300).map(lambda b: b.replace(b"\r", b"")),
    st.lists(st.integers(0, 300), max_size=10),
    st.integers(1, 40),
)
def test_any_chunking_gives_the_same_lines(data: bytes, cuts: list[int], limit: int) -> None:
    expected = data.split(b"\n")
    if expected and expected[-1] == b"":
        expected = expected[:-1]
    got = list(iter_lines(chunked(data, cuts), limit))
    assert [g.number for g in got] == list(range(1, len(expected) + 1))
    assert [g.size for g in got] == [len(e) for e in expected]
    assert [g.data for g in got] == [e if len(e) <= limit else None for e in expected]
    offsets, pos = [], 0
    for e in expected:
        offsets.append(pos)
        pos += len(e) + 1
    assert [g.offset for g in got] == offsets
    assert all(g.complete for g in got[:-1])
    if got:
        assert got[-1].complete == data.endswith(b"\n")


def test_stop_ends_at_the_first_line_starting_past_it() -> None:
    data = b"aaaa\nbbbb\ncccc\n"
    assert [g.data for g in iter_lines(iter([data]), 100, stop=5)] == [b"aaaa"]
    assert [g.data for g in iter_lines(iter([data]), 100, stop=6)] == [b"aaaa", b"bbbb"]


def flatten(items, limit: int) -> list[tuple]:
    """Blocks split into their lines (a line over the limit read as data=None), as iter_lines gives them."""
    out = []
    for item in items:
        if isinstance(item, Block):
            data = bytes(item.data)
            assert data.endswith(b"\n")
            offset = item.offset
            for i, part in enumerate(data[:-1].split(b"\n")):
                out.append((item.first + i, part if len(part) <= limit else None, len(part), offset, True))
                offset += len(part) + 1
        else:
            out.append((item.number, item.data, item.size, item.offset, item.complete))
    return out


@settings(max_examples=400, deadline=None)
@given(
    st.binary(max_size=300).map(lambda b: b.replace(b"\r", b""))
    | st.text("ab\n", max_size=300).map(str.encode),
    st.lists(st.integers(0, 300), max_size=10),
    st.integers(0, 40),
    st.none() | st.integers(1, 320),
    st.booleans(),
    st.none() | st.integers(1, 50),
)
def test_blocks_are_the_same_lines_in_bulk(
    data: bytes, cuts: list[int], limit: int, stop, skip, size
) -> None:
    lines = iter_lines(chunked(data, cuts), limit, stop)
    if skip:
        next(lines, None)
        expected = [(x.number - 1, x.data, x.size, x.offset, x.complete) for x in lines]
    else:
        expected = [(x.number, x.data, x.size, x.offset, x.complete) for x in lines]
    got = flatten(iter_blocks(chunked(data, cuts), limit, stop, skip, size), limit)
    assert got == expected
    if _fastscan is not None:  # the compiled newline counter the reader passes
        got = flatten(iter_blocks(chunked(data, cuts), limit, stop, skip, size, _fastscan.count_lines), limit)
    assert got == expected


def test_blocks_are_views_of_the_chunks_and_a_carried_line_is_its_own() -> None:
    chunks = [b"one\ntwo\nthr", b"ee\nfour\nfi", b"ve"]
    items = list(iter_blocks(iter(chunks), 100))
    assert [type(i).__name__ for i in items] == ["Block", "Block", "Block", "Line"]
    assert [bytes(i.data) for i in items[:3]] == [b"one\ntwo\n", b"three\n", b"four\n"]
    assert [(i.first, i.offset) for i in items[:3]] == [(1, 0), (3, 8), (4, 14)]
    assert items[2].data.obj is chunks[1]  # a view of the chunk, not a copy
    assert (items[3].data, items[3].number, items[3].complete) == (b"five", 5, False)
