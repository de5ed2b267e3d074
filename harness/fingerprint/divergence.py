"""Per-position comparison of reported log-probabilities with the reference's: the numbers the
log-probability probe and its calibration share.

For each position of a text (row ``r`` = the distribution of token ``r + 1`` given tokens ``0..r``) an
endpoint reports a few (token, logprob) pairs: its top-k and the logprob of the observed token. On
that reported set S we compute, against the reference's full distribution:

* ``d``: logprob difference of the observed token, endpoint minus reference (NaN if not reported).
* ``u``: ``d`` minus its expectation under the reference over the reference's own top tokens,
  ``u = d(x) - sum_{v in T} p_R(v | T) d(v)`` with T the reference's ``REF_TOP`` most likely tokens that
  the endpoint reported. Numerical noise is blind to which token the text continues with, so ``u``
  averages to zero under it (to second order the ``-Var/2`` shrinkage of log-softmax appears in both
  terms and cancels, and any constant offset of a row cancels exactly). T is chosen by the reference,
  not by the endpoint: averaging over the endpoint's own top-k would favour tokens its noise pushed up
  and bias ``u`` downwards. Training on text moves the observed continuations of natural text
  coherently: a non-zero mean of ``u`` over many texts is the signature of changed weights.
* ``kl``: KL(endpoint || reference) between the two distributions renormalised on S, the magnitude.
* ``top1``: the endpoint's most likely token is the reference's.
* ``ref_rank``: rank of the observed token under the reference (0 = most likely); selecting positions
  by it never looks at the endpoint, so it cannot bias ``d`` or ``u``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

REF_TOP = 10


@dataclass
class PositionStats:
    d: np.ndarray
    u: np.ndarray
    kl: np.ndarray
    top1: np.ndarray
    ref_rank: np.ndarray
    in_topk: np.ndarray  # the observed token is in the reported top-k (not only added as "chosen")

    def to_arrays(self) -> dict[str, np.ndarray]:
        return {k: getattr(self, k) for k in ("d", "u", "kl", "top1", "ref_rank", "in_topk")}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> PositionStats:
        return cls(**{k: np.asarray(arrays[k]) for k in ("d", "u", "kl", "top1", "ref_rank", "in_topk")})

    def __len__(self) -> int:
        return len(self.kl)


def empty_stats(n: int) -> PositionStats:
    nan = np.full(n, np.nan)
    return PositionStats(
        nan.copy(), nan.copy(), nan.copy(), np.zeros(n, bool), np.full(n, -1), np.zeros(n, bool)
    )


def compare_rows(
    entries: list[dict[int, float] | None],
    observed: list[int],
    observed_logprob: list[float | None],
    ref_rows,
) -> PositionStats:
    """``entries[r]``: reported top-k (id -> logprob) for row ``r``, or None where nothing was reported.

    ``observed[r]`` is token ``r + 1``; ``observed_logprob[r]`` its reported logprob (None if not
    reported); ``ref_rows[r]`` the reference's log-softmax row (a torch tensor or numpy array).
    """
    n = len(entries)
    out = empty_stats(n)
    for r, top in enumerate(entries):
        if top is None:
            continue
        row = ref_rows[r]
        x = observed[r]
        pairs = dict(top)
        out.in_topk[r] = x in pairs
        if observed_logprob[r] is not None:
            pairs.setdefault(x, float(observed_logprob[r]))
        ids = list(pairs)
        e = np.array([pairs[i] for i in ids], dtype=np.float64)
        f = np.array([float(row[i]) for i in ids], dtype=np.float64)
        le = e - np.logaddexp.reduce(e)
        lf = f - np.logaddexp.reduce(f)
        pe = np.exp(le)
        out.kl[r] = max(0.0, float(np.sum(pe * (le - lf))))
        out.top1[r] = ids[int(np.argmax(e))] == int(np.argmax(np.asarray(row)))
        row_np = np.asarray(row)
        xv = float(row_np[x])
        out.ref_rank[r] = int((row_np > xv).sum())
        if x in pairs:
            d = pairs[x] - xv
            out.d[r] = d
            top_ref = (
                np.argsort(-row_np)[:REF_TOP]
                if len(row_np) <= REF_TOP
                else np.argpartition(-row_np, REF_TOP)[:REF_TOP]
            )
            shared = [int(v) for v in top_ref if int(v) in pairs]
            if shared:
                fr = row_np[shared].astype(np.float64)
                w = np.exp(fr - np.logaddexp.reduce(fr))
                out.u[r] = d - float(np.sum(w * (np.array([pairs[v] for v in shared]) - fr)))
    return out


def variant_entries(rows, observed: list[int], k: int) -> tuple[list[dict[int, float]], list[float]]:
    """What an endpoint serving ``rows`` would report: top-k per row and the observed token's logprob."""
    import torch

    t = rows if isinstance(rows, torch.Tensor) else torch.as_tensor(rows)
    vals, idx = torch.topk(t[: len(observed)], k, dim=-1)
    entries = [dict(zip(i.tolist(), v.tolist(), strict=True)) for i, v in zip(idx, vals, strict=True)]
    obs = [float(t[r, x]) for r, x in enumerate(observed)]
    return entries, obs


def select(
    stats: PositionStats, rows: np.ndarray | None = None, *, max_ref_rank: int | None = None
) -> np.ndarray:
    """Boolean mask of positions whose ``d``/``u`` enter the drift test."""
    mask = np.isfinite(stats.u)
    if rows is not None:
        mask &= rows
    if max_ref_rank is not None:
        mask &= (stats.ref_rank >= 0) & (stats.ref_rank < max_ref_rank)
    return mask


def finite_mean(values: np.ndarray) -> float:
    v = values[np.isfinite(values)]
    return float(v.mean()) if len(v) else math.nan
