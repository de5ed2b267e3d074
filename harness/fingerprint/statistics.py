"""The tests behind every fingerprint verdict: pure functions of numbers, no model, no network.

What each one answers (the probes say why it fits their data; docs/fingerprint.md has the derivations):

* ``cluster_t``: the mean of per-token values with a cluster-robust standard error (CR1; prompts are the
  clusters, because tokens of one prompt share context and are not independent), and its t statistic.
* ``calibrated_drift_test``: is an endpoint's drift larger than what numerics alone produce? The null
  spread is estimated from M local "same weights, other numerics" variants of the reference, and the
  test statistic is the observed value over the root-mean-square of the M null values: Student's t
  with M degrees of freedom when the null values are normal with mean 0 and a common scale (the
  assumption, checked in docs/fingerprint.md).
* ``null_drift_test``: the same, against the analytic first-order null scale when the variants agree.
* ``paired_band_test``: is a divergence above (or below) a calibrated band, paired by prompt.
* ``mmd_permutation_test``: Gao et al. (2024, "Model Equality Testing: Which Model Is This API
  Serving?") two-sample test on sampled completions: MMD with a Hamming kernel between completions of
  the same prompt, p-value by permuting endpoint/reference labels within prompts (exact under H0).
* ``fisher_exact_greater``: one-sided Fisher test for "this word is dropped more often than controls".
* ``holm``: Holm's step-down adjustment across the probes' p-values (valid under any dependence).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats


@dataclass(frozen=True)
class ClusterMean:
    mean: float
    se: float
    t: float
    n: int
    clusters: int


def cluster_t(groups: Sequence[np.ndarray]) -> ClusterMean:
    """Mean over all values; SE^2 = G/(G-1) * sum_g (sum_{i in g} (x_i - mean))^2 / n^2 (CR1)."""
    groups = [np.asarray(g, dtype=np.float64) for g in groups if len(g)]
    n = sum(len(g) for g in groups)
    if n == 0 or len(groups) < 2:
        return ClusterMean(float("nan"), float("nan"), float("nan"), n, len(groups))
    mean = float(sum(g.sum() for g in groups) / n)
    resid = np.array([float((g - mean).sum()) for g in groups])
    G = len(groups)
    se = math.sqrt(G / (G - 1) * float((resid**2).sum())) / n
    t = mean / se if se > 0 else (0.0 if mean == 0 else math.copysign(math.inf, mean))
    return ClusterMean(mean, se, t, n, G)


@dataclass(frozen=True)
class DriftTest:
    observed: float
    null_scale: float  # root-mean-square of the null values (floored)
    null_values: tuple[float, ...]
    statistic: float  # observed / null_scale
    df: int
    p_value: float


def calibrated_drift_test(observed: float, null_values: Sequence[float], floor: float = 0.0) -> DriftTest:
    """Two-sided p-value of ``observed`` against the spread of ``null_values`` (see module docstring).

    If the null values are N(0, s^2) draws and ``observed`` is another, ``observed / rms(null)`` is
    Student's t with M = len(null_values) degrees of freedom. ``floor`` keeps the scale at least at the
    observed value's own standard error: a null that happened to come out narrower than the sampling
    noise of the endpoint's own estimate would claim more than the data allow.
    """
    finite = [float(t) for t in null_values if math.isfinite(t)]
    m = len(finite)
    if m == 0 or not math.isfinite(observed):
        return DriftTest(observed, float("nan"), tuple(finite), float("nan"), m, float("nan"))
    scale = max(floor, math.sqrt(sum(t * t for t in finite) / m))
    if scale == 0:
        return DriftTest(observed, 0.0, tuple(finite), float("nan"), m, float("nan"))
    stat = observed / scale
    p = float(2 * stats.t.sf(abs(stat), df=m))
    return DriftTest(observed, scale, tuple(finite), stat, m, p)


NULL_CONSISTENCY = 3.5


def null_drift_test(observed: float, analytic_scale: float, variants: dict[str, float]) -> DriftTest:
    """The drift test against a known null scale, as long as the measured variants agree with it.

    ``analytic_scale`` is the first-order standard deviation of ``observed`` under random weight noise
    (no sampling error, so the test is normal: ``df`` 0). The calibration variants (other precisions,
    quantisation, one noise draw) are real null draws: if any lies beyond ``NULL_CONSISTENCY`` analytic
    standard deviations, the numerics of this reference are not noise-like enough for the analytic
    scale, and the test uses the root-mean-square of the variants and the analytic value as M null draws
    (Student's t) instead.
    """
    values = [float(v) for v in variants.values() if math.isfinite(v)]
    if math.isfinite(analytic_scale) and analytic_scale > 0 and math.isfinite(observed):
        if all(abs(v) <= NULL_CONSISTENCY * analytic_scale for v in values):
            stat = observed / analytic_scale
            p = float(2 * stats.norm.sf(abs(stat)))
            return DriftTest(observed, analytic_scale, tuple(values), stat, 0, p)
        values.append(analytic_scale)
    return calibrated_drift_test(observed, values)


def drift_detectable(scale: float, df: int, alpha: float, power: float = 0.8) -> float:
    """Smallest |observed| the drift test detects with ``power`` at level ``alpha`` (two-sided);
    ``df`` 0 means the normal distribution."""
    if not math.isfinite(scale) or df < 0:
        return float("nan")
    crit = stats.norm.isf(alpha / 2) if df == 0 else stats.t.isf(alpha / 2, df)
    return float((crit + stats.norm.isf(1 - power)) * scale)


@dataclass(frozen=True)
class BandTest:
    ratio: float  # mean endpoint divergence / mean band divergence
    mean_difference: float  # mean over prompts of (endpoint - margin * band)
    se: float
    p_above: float  # H0: endpoint <= margin * band; small p = beyond the band
    p_within: float  # H0: endpoint >= margin * band; small p = inside the band (equivalence)
    detectable: float  # smallest endpoint divergence the test calls "above" with 80% power


def paired_band_test(
    endpoint: Sequence[float], band: Sequence[float], margin: float, alpha: float, power: float = 0.8
) -> BandTest:
    """One-sided t-tests over prompts of d_p = endpoint_p - margin * band_p, in both directions."""
    e = np.asarray(endpoint, dtype=np.float64)
    b = np.asarray(band, dtype=np.float64)
    diff = e - margin * b
    g = len(diff)
    ratio = float(e.mean() / b.mean()) if b.mean() > 0 else math.inf
    if g < 2:
        return BandTest(
            ratio, float(diff.mean()) if g else float("nan"), float("nan"), 1.0, 1.0, float("nan")
        )
    se = float(diff.std(ddof=1) / math.sqrt(g))
    mean = float(diff.mean())
    if se == 0:
        above = 0.0 if mean > 0 else 1.0
        within = 0.0 if mean < 0 else 1.0
    else:
        t = mean / se
        above = float(stats.t.sf(t, df=g - 1))
        within = float(stats.t.cdf(t, df=g - 1))
    detect = float(margin * b.mean() + (stats.t.isf(alpha, g - 1) + stats.norm.isf(1 - power)) * se)
    return BandTest(ratio, mean, se, above, within, detect)


@dataclass(frozen=True)
class MMDTest:
    mmd2: float
    p_value: float
    permutations: int
    prompts: int
    samples_per_side: int


def _hamming_similarity(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """[n, L] x [m, L] token arrays (-1 = padding) -> [n, m] fraction of positions with equal tokens."""
    L = a.shape[1]
    eq = (a[:, None, :] == b[None, :, :]) & (a[:, None, :] >= 0)
    return eq.sum(-1) / L


def mmd_permutation_test(
    endpoint: Sequence[np.ndarray], reference: Sequence[np.ndarray], permutations: int, seed: int
) -> MMDTest:
    """Per prompt, ``endpoint[p]`` and ``reference[p]`` are [n_p, L] token arrays (padded with -1).

    The kernel between completions of different prompts is 0 (Gao et al.), so MMD^2 is a sum of
    per-prompt unbiased MMD^2 estimates; labels are permuted within each prompt.
    """
    rng = np.random.default_rng(seed)
    blocks = []
    for x, y in zip(endpoint, reference, strict=True):
        if len(x) < 2 or len(y) < 2:
            continue
        z = np.concatenate([x, y])
        blocks.append((_hamming_similarity(z, z), len(x), len(y)))
    if not blocks:
        return MMDTest(float("nan"), float("nan"), 0, 0, 0)

    def stat(labels_per_block: list[np.ndarray]) -> float:
        total = 0.0
        for (k, nx, ny), lab in zip(blocks, labels_per_block, strict=True):
            xi, yi = np.flatnonzero(lab), np.flatnonzero(~lab)
            kxx = k[np.ix_(xi, xi)]
            kyy = k[np.ix_(yi, yi)]
            kxy = k[np.ix_(xi, yi)]
            total += (kxx.sum() - np.trace(kxx)) / (nx * (nx - 1))
            total += (kyy.sum() - np.trace(kyy)) / (ny * (ny - 1))
            total -= 2 * kxy.mean()
        return total / len(blocks)

    observed_labels = [np.arange(nx + ny) < nx for _, nx, ny in blocks]
    observed = stat(observed_labels)
    exceed = 0
    for _ in range(permutations):
        perm = [rng.permutation(lab) for lab in observed_labels]
        if stat(perm) >= observed - 1e-12:
            exceed += 1
    p = (exceed + 1) / (permutations + 1)
    n_side = min(nx for _, nx, _ in blocks)
    return MMDTest(float(observed), float(p), permutations, len(blocks), n_side)


def fisher_exact_greater(dropped_a: int, kept_a: int, dropped_b: int, kept_b: int) -> float:
    """P-value of "group a is dropped more often than group b" (one-sided Fisher exact test)."""
    if dropped_a + kept_a == 0 or dropped_b + kept_b == 0:
        return 1.0
    return float(stats.fisher_exact([[dropped_a, kept_a], [dropped_b, kept_b]], alternative="greater")[1])


def binomial_tail(k: int, n: int, p: float) -> float:
    """P(X >= k) for X ~ Binomial(n, p)."""
    if n == 0:
        return 1.0
    return float(stats.binom.sf(k - 1, n, p))


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm-adjusted p-values, in the input order (NaN stays NaN and counts as no test)."""
    idx = [i for i, p in enumerate(p_values) if p is not None and math.isfinite(p)]
    m = len(idx)
    adjusted = [float("nan")] * len(p_values)
    running = 0.0
    for rank, i in enumerate(sorted(idx, key=lambda j: p_values[j])):
        running = max(running, min(1.0, (m - rank) * float(p_values[i])))
        adjusted[i] = running
    return adjusted
