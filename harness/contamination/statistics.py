"""The tests behind a contamination verdict: exact under their null, whatever the models and the data.

Every item is scored in several *versions*: the published original (column 0) and its fresh twins
(columns 1..K). The question "did the model see the published items?" becomes "is the original
special among its versions?". Under the null that it is not (the versions are exchangeable for this
model), which version is the original is a uniformly random label within each item, so relabelling
at random gives the exact null distribution of any statistic (a randomisation test; Fisher 1935,
the same logic as Oren et al. 2023's test of a test set's published order). The p-value
``(1 + #{T_b >= T}) / (B + 1)`` is valid for any number of draws B (Phipson & Smyth 2010).

Exchangeability is an assumption about the model *and* the twins: human-chosen numbers are more
typical than drawn ones, and GSM-Symbolic (Mirzadeh et al. 2024) shows clean models lose a few
points on re-instantiated problems. The calibrated forms therefore compare against what a clean model
does on the same versions: a reference model (the per-version score becomes model minus reference), or
held-out control items from the same distribution (a two-sample test of the item contrasts, ConStat's
"reference benchmark", Dekoninck et al. 2024). The uncalibrated within-item test is still reported.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy import stats

DEFAULT_PERMUTATIONS = 9999
DEFAULT_BOOTSTRAP = 4000


@dataclass(frozen=True)
class TestResult:
    """One test: its statistic (a mean difference per item), a one-sided p-value, and a 95% interval."""

    name: str
    statistic: (
        float  # the effect estimate: mean per-item difference (original minus twins, or test minus control)
    )
    p_value: float
    ci_low: float | None
    ci_high: float | None
    n: int
    n_control: int | None = None
    method: str = ""
    mde: float | None = None  # smallest effect detected with 80% power at the run's alpha

    def to_dict(self) -> dict[str, Any]:
        return {k: (_round(v) if isinstance(v, float) else v) for k, v in asdict(self).items()}


def _round(x: float) -> float:
    return float(f"{x:.6g}") if math.isfinite(x) else x


def contrasts(scores: np.ndarray) -> np.ndarray:
    """Per item and per version: that version's score minus the mean of the item's other versions.

    ``scores`` is (items, versions) with the original in column 0; column 0 of the result is each
    item's observed contrast, and the other columns are what it would be if that twin were the original.
    """
    scores = np.asarray(scores, dtype=float)
    v = scores.shape[1]
    if v < 2:
        raise ValueError("need the original and at least one twin per item")
    total = scores.sum(axis=1, keepdims=True)
    return scores - (total - scores) / (v - 1)


def pooled_scale(scores: np.ndarray) -> float:
    """The typical within-item spread of a score across versions (root mean within-item variance).

    It does not depend on which version is called the original, so dividing by it keeps a
    randomisation test exact; it puts streams with different units (log-probabilities, accuracy) on
    one scale before they are added.
    """
    scores = np.asarray(scores, dtype=float)
    var = scores.var(axis=1, ddof=1).mean()
    return float(math.sqrt(var)) if var > 0 else 0.0


def standardised_contrasts(streams: dict[str, np.ndarray]) -> tuple[np.ndarray, dict[str, float]]:
    """The combined per-item, per-version contrast of several score streams (each (items, versions)),
    each divided by its pooled scale; a stream with no spread at all adds nothing."""
    combined: np.ndarray | None = None
    scales = {}
    for name, scores in streams.items():
        scale = pooled_scale(scores)
        scales[name] = scale
        part = contrasts(scores) / scale if scale > 0 else np.zeros_like(np.asarray(scores, dtype=float))
        combined = part if combined is None else combined + part
    if combined is None:
        raise ValueError("no score stream to combine")
    return combined, scales


def version_permutation_test(
    item_contrasts: np.ndarray,
    *,
    name: str,
    permutations: int = DEFAULT_PERMUTATIONS,
    seed: int = 0,
    alpha: float = 0.01,
) -> TestResult:
    """Is the original special among its versions? ``item_contrasts`` is (items, versions) from
    ``contrasts``/``standardised_contrasts``; the statistic is the mean of column 0, and the null
    draws, per item, which column plays the original. One-sided (original favoured)."""
    c = np.asarray(item_contrasts, dtype=float)
    c = c[np.all(np.isfinite(c), axis=1)]
    n, v = c.shape
    if n == 0:
        return TestResult(name, float("nan"), 1.0, None, None, 0, method="no items")
    observed = float(c[:, 0].mean())
    rng = np.random.default_rng(seed)
    null = np.empty(permutations)
    rows = np.arange(n)
    for start in range(0, permutations, 1000):  # chunks bound memory on large samples
        size = min(1000, permutations - start)
        picks = rng.integers(0, v, size=(size, n))
        null[start : start + size] = c[rows, picks].mean(axis=1)
    p = (1 + int(np.sum(null >= observed - 1e-12))) / (permutations + 1)
    low, high = bootstrap_mean_ci(c[:, 0], seed=seed)
    # Spread of the statistic under the null gives the smallest mean contrast detected with 80% power.
    mde = float((np.quantile(null, 1 - alpha) - null.mean()) + stats.norm.ppf(0.8) * null.std())
    return TestResult(
        name, observed, p, low, high, n, method=f"randomisation over versions ({permutations} draws)", mde=mde
    )


def two_sample_test(
    test: np.ndarray,
    control: np.ndarray,
    *,
    name: str,
    permutations: int = DEFAULT_PERMUTATIONS,
    seed: int = 0,
    alpha: float = 0.01,
) -> TestResult:
    """Are test items' contrasts larger than those of control items from the same distribution?
    Randomisation over the test/control labels (exact when the split was random), one-sided."""
    x = np.asarray(test, dtype=float)
    y = np.asarray(control, dtype=float)
    x, y = x[np.isfinite(x)], y[np.isfinite(y)]
    if len(x) == 0 or len(y) == 0:
        return TestResult(name, float("nan"), 1.0, None, None, len(x), len(y), method="no items")
    observed = float(x.mean() - y.mean())
    pooled = np.concatenate([x, y])
    rng = np.random.default_rng(seed)
    null = np.empty(permutations)
    for b in range(permutations):
        perm = rng.permutation(len(pooled))
        null[b] = pooled[perm[: len(x)]].mean() - pooled[perm[len(x) :]].mean()
    p = (1 + int(np.sum(null >= observed - 1e-12))) / (permutations + 1)
    low, high = bootstrap_diff_ci(x, y, seed=seed)
    mde = float((np.quantile(null, 1 - alpha) - null.mean()) + stats.norm.ppf(0.8) * null.std())
    return TestResult(
        name,
        observed,
        p,
        low,
        high,
        len(x),
        len(y),
        method=f"randomisation over test/control labels ({permutations} draws)",
        mde=mde,
    )


def bootstrap_mean_ci(
    values: np.ndarray, *, level: float = 0.95, resamples: int = DEFAULT_BOOTSTRAP, seed: int = 0
) -> tuple[float | None, float | None]:
    """Percentile bootstrap interval of a mean over items (paired differences: one value per item)."""
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    if len(x) == 0:
        return None, None
    if np.all(x == x[0]):
        return float(x[0]), float(x[0])
    rng = np.random.default_rng(seed + 1)
    means = x[rng.integers(0, len(x), size=(resamples, len(x)))].mean(axis=1)
    tail = (1 - level) / 2
    return float(np.quantile(means, tail)), float(np.quantile(means, 1 - tail))


def bootstrap_diff_ci(
    x: np.ndarray, y: np.ndarray, *, level: float = 0.95, resamples: int = DEFAULT_BOOTSTRAP, seed: int = 0
) -> tuple[float | None, float | None]:
    """Percentile bootstrap interval of mean(x) - mean(y), the two groups resampled independently."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if len(x) == 0 or len(y) == 0:
        return None, None
    rng = np.random.default_rng(seed + 2)
    diffs = x[rng.integers(0, len(x), size=(resamples, len(x)))].mean(axis=1) - y[
        rng.integers(0, len(y), size=(resamples, len(y)))
    ].mean(axis=1)
    tail = (1 - level) / 2
    return float(np.quantile(diffs, tail)), float(np.quantile(diffs, 1 - tail))


def mcnemar_exact(original: np.ndarray, twin: np.ndarray) -> dict[str, Any]:
    """Exact McNemar test (one-sided: better on originals) for paired right/wrong outcomes.

    Only discordant pairs carry information: b = right on the original only, c = right on the twin
    only; under the null b ~ Binomial(b + c, 1/2). scipy's exact binomial test gives the p-value
    (the same number statsmodels' ``mcnemar(exact=True)`` gives, one-sided).
    """
    o = np.asarray(original, dtype=float) >= 0.5
    t = np.asarray(twin, dtype=float) >= 0.5
    b = int(np.sum(o & ~t))
    c = int(np.sum(~o & t))
    p = 1.0 if b + c == 0 else float(stats.binomtest(b, b + c, 0.5, alternative="greater").pvalue)
    return {"original_only": b, "twin_only": c, "p_value": _round(p), "n": len(o)}


def exact_rank_sum_p(ranks: np.ndarray, levels: int) -> float:
    """P(sum of n independent uniforms on {0..levels-1} >= observed sum): exact, by convolution.

    Used for rank statistics: the rank of the original among ``levels`` versions (0 = lowest) is
    uniform under exchangeability (ties broken at random by the caller)."""
    r = np.asarray(ranks, dtype=int)
    n = len(r)
    if n == 0:
        return 1.0
    dist = np.array([1.0])
    step = np.full(levels, 1.0 / levels)
    for _ in range(n):
        dist = np.convolve(dist, step)
    observed = int(r.sum())
    return float(min(1.0, dist[observed:].sum()))


def ranks_among_versions(scores: np.ndarray, seed: int = 0) -> np.ndarray:
    """Rank of column 0 among each row's values (0 = lowest), ties broken uniformly at random."""
    s = np.asarray(scores, dtype=float)
    rng = np.random.default_rng(seed + 3)
    below = (s[:, 1:] < s[:, :1]).sum(axis=1)
    ties = (s[:, 1:] == s[:, :1]).sum(axis=1)
    return below + np.array([rng.integers(0, t + 1) for t in ties], dtype=int)


def shard_order_test(canonical: np.ndarray, shuffled: np.ndarray, seed: int = 0) -> dict[str, Any]:
    """Oren et al. (2023)'s sharded comparison: is each shard's published order more likely than its
    shuffles? Their one-sided t-test on (canonical - mean shuffled), plus an exact rank test (the
    canonical order's rank among its shuffles is uniform under exchangeability of the items)."""
    canon = np.asarray(canonical, dtype=float)
    shuf = np.asarray(shuffled, dtype=float)
    diffs = canon - shuf.mean(axis=1)
    n = len(diffs)
    if n >= 2 and diffs.std(ddof=1) > 0:
        t = diffs.mean() / (diffs.std(ddof=1) / math.sqrt(n))
        t_p = float(stats.t.sf(t, df=n - 1))
    elif n >= 2 and diffs.mean() > 0:  # every shard gains exactly the same: no spread, no doubt
        t, t_p = float("inf"), 0.0
    else:
        t, t_p = float("nan"), 1.0
    ranks = ranks_among_versions(np.column_stack([canon, shuf]), seed=seed)
    return {
        "shards": n,
        "shuffles_per_shard": int(shuf.shape[1]) if shuf.ndim == 2 else 0,
        "mean_logprob_gain": _round(float(diffs.mean())) if n else None,
        "t_statistic": _round(float(t)),
        "t_test_p_value": _round(t_p),
        "rank_test_p_value": _round(exact_rank_sum_p(ranks, shuf.shape[1] + 1)),
        "canonical_rank_mean": _round(float(ranks.mean())) if n else None,
    }


def minimum_detectable_difference(
    sd: float, n: int, alpha: float, power: float = 0.8, *, standard_error: bool = False
) -> float | None:
    """The one-sided shift of a mean of ``n`` paired differences with standard deviation ``sd`` that a
    level-``alpha`` test detects with probability ``power`` (normal approximation); with
    ``standard_error`` the given ``sd`` already is the estimate's standard error."""
    if not math.isfinite(sd) or (n < 2 and not standard_error):
        return None
    se = sd if standard_error else sd / math.sqrt(n)
    return float((stats.norm.ppf(1 - alpha) + stats.norm.ppf(power)) * se)
