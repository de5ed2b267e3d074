"""The ``Probe`` interface: what every test of the fingerprint family implements, so one loop runs them all.

A probe does two things, kept apart as in datatrove's ``PipelineStep`` (the step) and its executor
(the loop that decides where and when steps run):

* ``plan(run)``: the requests it will send, as single-request ``Step``s (a ledger name and a closure
  that sends one request and stores its observation in ``run.s``). Nothing is sent while planning.
* ``analyse(run)``: its evidence rows, recomputed from the observations so far (pure over ``run.s``;
  no request). Rows of ``kind`` ``info`` are reported and never decide.

``runner.run_fingerprint`` is the executor: it asks every registered probe for its plan, interleaves
the steps (``placement``: ``first`` before everything, ``interleaved`` half of each in turn so that any
kind of substitute is met early, ``last`` after), sends them one by one, and after each asks every
probe for its rows and stops as soon as a test of the family crosses its threshold. Probes register
with ``register_probe`` (lm-eval's ``register_model`` pattern); registration order is the order of
their steps within a placement, and ``row_rank`` the order of their rows in ``fingerprint.json``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, Protocol

from harness.fingerprint.evalues import betting_eprocess
from harness.fingerprint.evidence import Evidence, format_e
from harness.fingerprint.family import KINDS

# How many requests each test plans (a run stops earlier when a test crosses).
TOP_K = 5
N_COUNT = 7
N_GREEDY = 16
N_ECHO = 10
N_COPY = 6
COPY_DRAWS = 6  # candidate lists per planned copy until the reference's own copy names a vendor
CUT_TEXTS = 1
COPY_MAX_TOKENS = 24
GREEDY_EXTRA = {"repeat_penalty": 1.0}  # llama.cpp's name; vLLM's repetition_penalty already defaults to 1
IDENTITY_QUESTION = "Who are you? Which company created you, and what is your model name?"

Step = tuple[str, Callable[[], None]]  # (the ledger name its request is counted under, send one request)
Placement = Literal["first", "interleaved", "last"]


@dataclass
class RunState:
    """Observations so far, per test (the rows are recomputed from these after every request)."""

    base_count: tuple[int | None, int] | None = None
    counts: list[Any] = field(default_factory=list)  # token_count.CountObservation
    greedy: list[Any] = field(default_factory=list)  # greedy.GreedyObservation
    greedy_repeat: Any = None
    copies: list[Any] = field(default_factory=list)  # greedy.GreedyObservation with copy_items
    copy_unsent: int = 0  # planned copies with no list the reference copies with a vendor name in it
    echoes: list[Any] = field(default_factory=list)  # echo.EchoObservation
    cuts: list[Any] = field(default_factory=list)  # truncation.Cut
    identity: list[tuple[str, str]] = field(default_factory=list)
    planned: dict[str, int] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)
    echo_d: dict[str, dict[str, list[float]]] = field(default_factory=dict)  # per echoed text, cached


class Run(Protocol):
    """What a probe sees of a run (``runner._Run``): the endpoint, the reference, the plan, the state."""

    client: Any
    ref: Any
    alpha: float
    seed: int
    tolerance: str
    match_tier: str
    caps: dict[str, Any]
    weights: dict[str, float]
    cal: Any
    s: RunState

    @property
    def chat(self) -> bool: ...

    def cost(self, probe: str) -> tuple[int, int]: ...


def evidence_row(
    name: str, weight: float, measured: str, statistic: str, ys: list[float], complete: bool, **kw: Any
) -> Evidence:
    """A family test's row: its e-process over ``ys`` (``evalues.betting_eprocess``) and what it saw."""
    e = betting_eprocess(ys)
    return Evidence(
        name=name,
        kind=kw.pop("kind", KINDS[name]),  # type: ignore[arg-type]
        measured=measured,
        statistic=statistic + f"; {format_e(e.sup)} over {e.n} observations",
        weight=weight,
        e_value=e.sup,
        e_final=e.final,
        n=e.n,
        complete=complete,
        **kw,
    )


class Probe(ABC):
    """One kind of request and the evidence drawn from it (see the module docstring)."""

    name: ClassVar[str]  # the ledger and progress name of its requests
    placement: ClassVar[Placement] = "interleaved"
    row_rank: ClassVar[int] = 0  # its rows' place in the evidence table (ties: registration order)

    @abstractmethod
    def plan(self, run: Run) -> list[Step]:
        """The single-request steps this probe will send in this run (none when it does not apply)."""

    @abstractmethod
    def analyse(self, run: Run) -> list[Evidence]:
        """Its evidence rows from the observations so far (no request is sent)."""


PROBES: list[type[Probe]] = []


def register_probe(cls: type[Probe]) -> type[Probe]:
    """Add a probe to the registry (a class decorator); registration order is the steps' order."""
    if any(p.name == cls.name for p in PROBES):
        raise ValueError(f"a probe named {cls.name!r} is already registered")
    PROBES.append(cls)
    return cls
