"""The Probe interface and its one loop: every test of the family is a registered probe, the schedule
interleaves their requests in the documented order, and the rows come out in the evidence table's order
(the records themselves are proved unchanged by the end-to-end tests)."""

from __future__ import annotations

from typing import Any, ClassVar

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


def test_copy_lists_the_reference_does_not_copy_are_never_sent():
    """The output filter spends no request on a list whose reference copy names no vendor: such slots
    are counted as unsent, the row stays complete, and its bound says how little it could see."""
    import types

    from harness.fingerprint import pool
    from harness.fingerprint.probes.registry import CopyProbe
    from harness.fingerprint.reference import GreedyPath

    class Ref:
        def __init__(self, copies: bool) -> None:
            self.copies, self.drawn = copies, []

        def copy_items(self, seed, index, must, *, chat=False):
            self.drawn.append((index, must))
            return pool.copy_items(pool._rng("copy", seed, index), must)

        def prompt_ids(self, prompt, chat):
            return [1, 2, 3]

        def greedy(self, ids, max_new):
            items = self.drawn[-1][1]
            text = (
                (" " + ", ".join(("apple", *items)))
                if self.copies
                else " I am a helpful assistant, happy to help"
            )
            return GreedyPath(tuple(ids), (5,), (text,), (3.0,), (-0.1,), False)

    class Client:
        greedy_extra: ClassVar[dict] = {}
        posts = 0

        def post(self, path, body):
            Client.posts += 1
            return {
                "choices": [
                    {"message": {"content": body["messages"][0]["content"][-40:]}, "finish_reason": "stop"}
                ]
            }

    for copies, sent in ((False, 0), (True, 6)):
        Client.posts = 0
        ref = Ref(copies)
        run = types.SimpleNamespace(
            client=Client(), ref=ref, s=RunState(), chat=True, seed=0, weights={"output_filter": 0.25},
            cal=object(), alpha=0.01, cost=lambda name: (Client.posts, 0),
        )  # fmt: skip
        for _, step in CopyProbe().plan(run):
            step()
        assert Client.posts == sent and len(run.s.copies) == sent and run.s.copy_unsent == 6 - sent
        # the priority names take turns until one is dropped: Claude first
        assert ref.drawn[0][1] == ("Claude",)
        (row,) = CopyProbe().analyse(run)
        assert row.complete and row.n == sent
        if not copies:
            assert ref.drawn[-1][0] == 5 + 6 * 5  # six candidate lists per slot were drawn, none sent
            assert row.bound.startswith("not measured") and "6 planned lists not sent" in row.measured
