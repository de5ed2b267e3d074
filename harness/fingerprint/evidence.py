"""One row of the evidence table: what a probe measured, what it supports, and how strongly.

``supports`` is ``match``, ``mismatch`` or ``neutral``. ``strength`` is in [0, 1]: for evidence against
the claim it is ``1 - p`` (p: the probability of evidence at least this extreme if the endpoint served
the reference); for evidence for it, the confidence of the equivalence test behind it; heuristic
evidence (identity answers, greedy agreement) is capped below decisive levels and says so. ``kind``
groups rows: ``tokenizer``, ``weights``, ``proxy``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

Supports = Literal["match", "mismatch", "neutral"]
WEAK_STRENGTH_CAP = 0.75


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
    if isinstance(obj, float):
        return rnd(obj, digits)
    if isinstance(obj, dict):
        return {k: rnd_tree(v, digits) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [rnd_tree(v, digits) for v in obj]
    return obj


def format_p(p: float | None) -> str:
    if p is None or not math.isfinite(p):
        return "p = n/a"
    return "p < 0.0001" if p < 1e-4 else f"p = {p:.4f}"


@dataclass
class Evidence:
    name: str
    kind: str
    measured: str
    statistic: str
    supports: Supports
    strength: float
    requests: int = 0
    tokens: int = 0
    p_value: float | None = None
    decisive: bool = False
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "measured": self.measured,
            "statistic": self.statistic,
            "supports": self.supports,
            "strength": rnd(self.strength),
            "requests": self.requests,
            "tokens": self.tokens,
            "p_value": rnd(self.p_value),
            "decisive": self.decisive,
            "details": rnd_tree(self.details),
        }
