"""Line splitting in bounded memory: any chunking gives the same lines; long lines are not kept."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from harness.leakage.streams import iter_lines


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
