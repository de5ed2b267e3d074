"""The Probe interface and its one loop: every test of the family is a registered probe, the schedule
interleaves their requests in the documented order, and the rows come out in the evidence table's order
(the records themselves are proved unchanged by the end-to-end tests)."""

from __future__ import annotations

from typing import Any

import pytest

from harness.fingerprint.evidence import Evidence
from harness.fingerprint.family import BASE_WEIGHTS
from harness.fingerprint.probes.base import PROBES, Probe, RunState, register_probe
from harness.fingerprint.runner import _Run, _schedule


def test_every_family_test_is_a_registered_probe():
    import harness.fingerprint.probes.registry  # noqa: F401  (registers)

    names = [p.name for p in PROBES]
    assert len(names) == len(set(names))
    assert names == [
        "tokenizer_counts", "greedy_tokens", "echo", "output_filter", "tokenizer_cuts", "identity", "token_logprobs",
    ]  # fmt: skip
    assert all(issubclass(p, Probe) for p in PROBES)
    assert set(BASE_WEIGHTS) <= set(names) | {"echo_text"}  # echo_text rows come from the echo probe
    with pytest.raises(ValueError, match="already registered"):
        register_probe(type("Again", (PROBES[0],), {}))


class _Fake(Probe):
    def __init__(self, name: str, placement: str, n: int, rank: int) -> None:
        self.name, self.placement, self.n, self.row_rank = name, placement, n, rank  # type: ignore[misc]

    def plan(self, run: Any) -> list:
        return [(self.name, lambda: None) for _ in range(self.n)]

    def analyse(self, run: Any) -> list[Evidence]:
        kind = "info" if self.name.startswith("i") else "weights"
        return [Evidence(self.name, kind, "", "")]


def _run_with(*probes: Probe) -> _Run:
    run = _Run.__new__(_Run)
    run.probes, run.s = list(probes), RunState()
    return run


def test_one_loop_interleaves_halves_and_orders_rows():
    run = _run_with(
        _Fake("a", "first", 2, 3), _Fake("g", "interleaved", 3, 2), _Fake("e", "interleaved", 2, 1),
        _Fake("c", "interleaved", 1, 1), _Fake("z", "last", 2, 0), _Fake("info", "last", 1, 9),
    )  # fmt: skip
    order = [name for name, _ in _schedule(run)]
    # first whole; first halves in turn (g g e c), second halves (g e); last whole
    assert order == ["a", "a", "g", "g", "e", "c", "g", "e", "z", "z", "info"]
    assert [r.name for r in run.evidence()] == ["z", "e", "c", "g", "a", "info"]  # by row_rank, ties stable
    assert [r.name for r in run.rows()] == ["z", "e", "c", "g", "a"]  # info rows never decide
