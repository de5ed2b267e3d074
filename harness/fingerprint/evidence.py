"""One row of the evidence table: a test of the family, its e-process, its weight, what it cost.

``kind`` groups rows: ``tokenizer`` and ``weights`` (a rejection means other weights or another model),
``relay`` (a rejection means something between us and the model edits text), ``info`` (reported, never
decides: identity answers, a cache, a longer chat template). ``weight`` is the test's share of alpha,
fixed before any probe was sent (``family.plan_family``); ``e_value`` is the running maximum of its
e-process (``evalues.betting_eprocess``). ``complete`` says whether the test ran its planned sample, and
``bound`` what it would have caught with 95% power (the meaning of a clearing verdict).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

Kind = Literal["tokenizer", "weights", "relay", "info"]


def rnd(x: float | None, digits: int = 4) -> float | None:
    """Round to ``digits`` significant figures for the record (JSON has no NaN/inf: those become None)."""
    if x is None:
        return None
    x = float(x)
    if not math.isfinite(x):
        return None
    if x == 0:
        return 0.0
    return float(f"{x:.{digits}g}")


def rnd_tree(obj: Any, digits: int = 4) -> Any:
    if isinstance(obj, bool):
        return obj
    if isinstance(obj, float):
        return rnd(obj, digits)
    if isinstance(obj, dict):
        return {k: rnd_tree(v, digits) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [rnd_tree(v, digits) for v in obj]
    return obj


def format_e(e: float | None) -> str:
    if e is None or not math.isfinite(e):
        return "e = inf" if e == math.inf else "e = n/a"
    return f"e = {e:.3g}"


@dataclass
class Evidence:
    name: str
    kind: Kind
    measured: str
    statistic: str
    weight: float = 0.0
    e_value: float = 1.0  # sup over time of the e-process
    e_final: float = 1.0
    n: int = 0  # observations that entered the e-process
    complete: bool = False
    requests: int = 0
    tokens: int = 0
    bound: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "measured": self.measured,
            "statistic": self.statistic,
            "weight": rnd(self.weight),
            # e-values can be astronomically large; keep them finite and readable in JSON
            "e_value": _finite(self.e_value),
            "e_final": _finite(self.e_final),
            "n": self.n,
            "complete": self.complete,
            "requests": self.requests,
            "tokens": self.tokens,
            "bound": self.bound,
            "details": rnd_tree(self.details),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Evidence:
        """Rebuild a row from a record (so ``decide`` can be re-run on a fingerprint.json)."""
        return cls(
            name=d["name"],
            kind=d["kind"],
            measured=d.get("measured", ""),
            statistic=d.get("statistic", ""),
            weight=float(d.get("weight") or 0.0),
            e_value=float(d["e_value"]) if d.get("e_value") is not None else 1.0,
            e_final=float(d["e_final"]) if d.get("e_final") is not None else 1.0,
            n=int(d.get("n") or 0),
            complete=bool(d.get("complete")),
            requests=int(d.get("requests") or 0),
            tokens=int(d.get("tokens") or 0),
            bound=d.get("bound"),
            details=dict(d.get("details") or {}),
        )


E_MAX_RECORDED = 1e300


def _finite(e: float) -> float:
    if e is None or math.isnan(e):
        return 1.0
    return float(f"{min(e, E_MAX_RECORDED):.6g}")
