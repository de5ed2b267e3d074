"""Error bars for benchmark scores, and tests of a claimed score against a measured one.

Everything here is a pure function of per-item scores: no files, no models, no clocks. Scores and
claims are fractions in [0, 1] throughout; percentages belong to the rendering layer.

Method (rationale and edge cases in docs/verify.md):

* Standard error. Unclustered: the binomial form ``sqrt(p(1-p)/n)``. Miller (2024, "Adding Error Bars
  to Evals: A Statistical Approach to Language Model Evaluations", arXiv:2411.00640) writes the CLT
  standard error with the sample variance, ``sqrt(s^2/n)`` with ``s^2 = sum (x - mean)^2 / (n - 1)``.
  For 0/1 scores the two differ only by the factor ``sqrt(n/(n-1))`` (0.5% at n = 100); we use the
  binomial form because it is the variance of the Bernoulli model the Wilson interval and the test of
  the claim are built on, so the three numbers we print are mutually consistent. For fractional
  scores in [0, 1], ``p(1-p)`` is an upper bound on the item variance, so the binomial form errs on
  the wide side. (lm-eval's own ``*_stderr`` uses the n-1 form; expect that tiny difference.)
* Clustered standard error (Miller 2024, section 2.2, for questions that share a passage or, for
  MMLU, a subject): ``Var = G/(G-1) * sum_c (sum_{i in c} (x_i - mean))^2 / n^2``: the sum over clusters
  of squared residual sums (the cluster-robust "sandwich" variance of a mean), with the CR1
  finite-cluster correction ``G/(G-1)`` (Cameron & Miller 2015, "A Practitioner's Guide to
  Cluster-Robust Inference", J. Human Resources 50(2)). With one item per cluster it reduces exactly
  to Miller's sample-variance form ``s^2/n``. The reported clustered SE is never smaller than the
  binomial one (design effect floored at 1): with a few dozen clusters the between-cluster term is
  itself noisy, and a design effect below 1 would narrow the interval on no better evidence.
* 95% interval: Wilson score interval. Clustered: the same Wilson formula with the effective sample
  size ``n_eff = n / deff`` (Kish's design effect ``deff = SE_clustered^2 / SE_binomial^2``), so the
  interval has the clustered width in the middle of the range and still never leaves [0, 1] at the
  edges (0 or n successes), where a normal interval degenerates to a point.
* Test of a claim (a fixed number, not an estimate): two-sided test of H0 "true accuracy == claimed"
  with the score statistic ``z = (p - c) / sqrt(deff * c (1 - c) / n)`` (SE under H0). Inverting this
  test gives exactly the Wilson interval above, so "the claim lies outside the 95% interval" and
  "p < 0.05" always agree. For small unclustered samples of 0/1 scores (``min(n c, n (1 - c)) < 10``,
  the usual rule for the normal approximation) the p-value is scipy's exact binomial test instead.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
from scipy import stats

from harness.records.files import json_safe

# Below this many expected successes or failures under H0 the normal approximation to the binomial is
# poor (the textbook n*p >= 10 rule); unclustered 0/1 data then get the exact binomial test.
EXACT_TEST_MIN_EXPECTED = 10.0


def _z(confidence: float) -> float:
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be strictly between 0 and 1, got {confidence!r}")
    return float(stats.norm.ppf(0.5 + confidence / 2.0))


@dataclass(frozen=True)
class Measurement:
    """A measured score with its standard error and interval (fractions in [0, 1])."""

    score: float
    n: int
    se: float
    ci_low: float
    ci_high: float
    se_method: Literal["binomial", "clustered", "stratified"]
    n_clusters: int | None  # clusters, or strata for a stratified estimate
    confidence: float
    # Kish design effect (clustered or stratified variance / binomial variance); 1.0 when unclustered.
    # Floored at 1 for clusters (a noisy between-cluster term must not narrow the interval); a stratified
    # estimate may have one below 1 (strata are fixed by design, and stratification removes their spread).
    design_effect: float = 1.0
    cluster_key: str | None = None  # what the clusters/strata are (e.g. "subject", "activity_label")
    sample_mean: float | None = None  # the unweighted mean of the items, where it differs in meaning

    def to_dict(self) -> dict[str, Any]:
        return json_safe(asdict(self))


def _as_scores(correct: Sequence[float]) -> np.ndarray:
    values = np.asarray(list(correct), dtype=float)
    if values.ndim != 1 or values.size == 0:
        raise ValueError("need at least one per-item score")
    bad = np.flatnonzero(~np.isfinite(values) | (values < 0.0) | (values > 1.0))
    if bad.size:
        i = int(bad[0])
        raise ValueError(f"per-item score at position {i} is {values[i]!r}; scores must be in [0, 1]")
    return values


def wilson_interval(successes: float, n: float, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a proportion ``successes / n``.

    Hand-written rather than scipy's ``BinomTestResult.proportion_ci(method="wilson")`` because the
    clustered case needs fractional successes and a fractional effective n; the tests check that the
    two agree on integers. At 0 and n successes the bounds are exactly 0 and 1.
    """
    if not n > 0 or not math.isfinite(n):
        raise ValueError(f"n must be a positive number, got {n!r}")
    if not 0.0 <= successes <= n:
        raise ValueError(f"successes must be in [0, n]; got {successes!r} with n={n!r}")
    z = _z(confidence)
    p = successes / n
    z2n = z * z / n
    centre = (p + z2n / 2.0) / (1.0 + z2n)
    half = z / (1.0 + z2n) * math.sqrt(p * (1.0 - p) / n + z2n / (4.0 * n))
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == n else min(1.0, centre + half)
    return low, high


def clustered_standard_error(values: Sequence[float], clusters: Sequence[str]) -> float:
    """Cluster-robust standard error of the mean of ``values`` (Miller 2024, sec. 2.2; CR1 correction).

    ``sqrt(G/(G-1) * sum_c (sum_{i in c} (x_i - mean))^2) / n``: items in one cluster (an MMLU
    subject) are not independent draws, and the squared residual sums charge their shared deviation
    once per cluster instead of once per item. Needs at least two clusters (one cluster has no
    between-cluster variation to estimate).
    """
    x = _as_scores(values)
    labels = list(clusters)
    if len(labels) != x.size:
        raise ValueError(f"{x.size} scores but {len(labels)} cluster labels")
    codes, inverse = np.unique(np.asarray(labels, dtype=object).astype(str), return_inverse=True)
    g = codes.size
    if g < 2:
        raise ValueError("a clustered standard error needs at least two clusters")
    residual_sums = np.bincount(inverse, weights=x - x.mean(), minlength=g)
    variance = g / (g - 1) * float(np.sum(residual_sums**2)) / x.size**2
    return math.sqrt(variance)


def measure(
    correct: Sequence[float],
    clusters: Sequence[str] | None = None,
    confidence: float = 0.95,
    cluster_key: str | None = None,
) -> Measurement:
    """Score, standard error and interval for per-item scores in [0, 1].

    With ``clusters`` (e.g. MMLU subjects) the SE is clustered and the Wilson interval uses the
    design-effect-adjusted effective n. With clusters given but only one distinct label, clustering
    cannot be estimated and the binomial SE is reported (``se_method == "binomial"``).
    """
    x = _as_scores(correct)
    n = int(x.size)
    p = float(x.mean())
    se_binomial = math.sqrt(p * (1.0 - p) / n)
    if clusters is not None:
        labels = [str(c) for c in clusters]
        if len(labels) != n:
            raise ValueError(f"{n} scores but {len(labels)} cluster labels")
        n_clusters = len(set(labels))
        if n_clusters >= 2:
            se_clustered = clustered_standard_error(x, labels)
            # At p in {0, 1} both SEs are 0 and the design effect is undefined; no evidence of
            # clustering then, so it is 1.
            deff = max(1.0, (se_clustered / se_binomial) ** 2) if se_binomial > 0 else 1.0
            low, high = wilson_interval(p * n / deff, n / deff, confidence)
            return Measurement(
                score=p,
                n=n,
                se=se_binomial * math.sqrt(deff),
                ci_low=low,
                ci_high=high,
                se_method="clustered",
                n_clusters=n_clusters,
                confidence=confidence,
                design_effect=deff,
                cluster_key=cluster_key,
            )
    low, high = wilson_interval(p * n, n, confidence)
    return Measurement(
        score=p,
        n=n,
        se=se_binomial,
        ci_low=low,
        ci_high=high,
        se_method="binomial",
        n_clusters=None,
        confidence=confidence,
        design_effect=1.0,
    )


@dataclass(frozen=True)
class ClaimTest:
    """Two-sided test of H0 "true accuracy == claimed" against a measurement.

    ``difference`` is measured - claimed; ``se`` is the standard error under H0 (what the test uses);
    ``method`` says whether ``p_value`` is the score test ("score") or scipy's exact binomial test
    ("exact"); ``minimum_detectable_gap`` is the smallest true gap this n detects with ``power`` at
    ``alpha``.
    """

    claimed: float
    measured: float
    difference: float
    se: float
    z: float
    p_value: float
    minimum_detectable_gap: float
    alpha: float
    power: float
    method: Literal["score", "exact"] = "score"

    def to_dict(self) -> dict[str, Any]:
        return json_safe(asdict(self))


def _check_fraction(name: str, value: float) -> float:
    value = float(value)
    if not (math.isfinite(value) and 0.0 <= value <= 1.0):
        hint = " (fractions, not percentages: divide by 100)" if 1.0 < value <= 100.0 else ""
        raise ValueError(f"{name} must be a fraction in [0, 1], got {value!r}{hint}")
    return value


def _gap_below(c: float, n_eff: float, z_alpha: float, z_power: float) -> float:
    """Smallest d such that a true accuracy of c - d is detected with the given power (or inf).

    Solves ``d = z_alpha * s(c) + z_power * s(c - d)`` with ``s(p) = sqrt(p (1 - p) / n_eff)``: the
    textbook sample-size relation for a one-sample proportion test, with the SE under H0 for the
    critical value and the SE under the alternative for the power (so a claim of exactly 100% does
    not get a detectable gap of 0). Squaring gives a quadratic in d; its larger root is the one with
    ``d >= z_alpha * s(c)``. When ``c <= z_alpha * s(c)`` even a true accuracy of 0 would not be
    rejected, so no gap in this direction is detectable: inf.
    """
    a = z_alpha * math.sqrt(c * (1.0 - c) / n_eff)
    if c <= a:
        return math.inf
    k = z_power * z_power / n_eff
    b = 2.0 * a + k * (2.0 * c - 1.0)
    disc = b * b - 4.0 * (1.0 + k) * (a * a - k * c * (1.0 - c))
    return min(c, (b + math.sqrt(max(disc, 0.0))) / (2.0 * (1.0 + k)))


def minimum_detectable_gap(claimed: float, n_eff: float, alpha: float = 0.05, power: float = 0.8) -> float:
    """Smallest true gap from ``claimed`` that a two-sided level-``alpha`` test detects with ``power``.

    Roughly ``(z_{1-alpha/2} + z_power) * sqrt(c (1 - c) / n_eff)`` (2.80 standard errors at the
    defaults), refined by using the alternative's variance for the power term. Computed in the
    direction towards 50%, where the alternative's variance is larger, so it is the larger of the two
    one-directional gaps (and the direction always has room: at least 50 points). ``inf`` (JSON null)
    when the sample is so small that no gap in that direction is detectable with that power.
    """
    z_alpha = float(stats.norm.ppf(1.0 - alpha / 2.0))
    z_power = float(stats.norm.ppf(power))
    towards_half = claimed if claimed >= 0.5 else 1.0 - claimed
    return _gap_below(towards_half, n_eff, z_alpha, z_power)


def _two_sided_normal_p(z: float) -> float:
    return float(2.0 * stats.norm.sf(abs(z)))


def test_claim(m: Measurement, claimed: float, alpha: float = 0.05, power: float = 0.8) -> ClaimTest:
    """Test a claimed score (a fixed number) against a measurement; see the module docstring."""
    c = _check_fraction("claimed score", claimed)
    if not 0.0 < alpha < 1.0 or not 0.0 < power < 1.0:
        raise ValueError(f"alpha and power must be in (0, 1), got alpha={alpha!r}, power={power!r}")
    deff = m.design_effect if m.se_method == "clustered" else 1.0
    n_eff = m.n / deff
    se0 = math.sqrt(c * (1.0 - c) / n_eff)
    diff = m.score - c
    # se0 == 0: a claim of exactly 0 or 1, under which any deviation is impossible
    z = diff / se0 if se0 > 0.0 else 0.0 if diff == 0.0 else math.copysign(math.inf, diff)
    successes = m.score * m.n
    integral = abs(successes - round(successes)) < 1e-9
    method: Literal["score", "exact"] = "score"
    if m.se_method == "binomial" and integral and min(m.n * c, m.n * (1.0 - c)) < EXACT_TEST_MIN_EXPECTED:
        method = "exact"
        p_value = float(stats.binomtest(round(successes), m.n, c, alternative="two-sided").pvalue)
    else:
        p_value = 1.0 if z == 0.0 else _two_sided_normal_p(z)
    return ClaimTest(
        claimed=c,
        measured=m.score,
        difference=diff,
        se=se0,
        z=z,
        p_value=min(1.0, p_value),
        minimum_detectable_gap=minimum_detectable_gap(c, n_eff, alpha, power),
        alpha=alpha,
        power=power,
        method=method,
    )


# pytest would otherwise collect this public function wherever a test module imports it by name.
test_claim.__test__ = False  # type: ignore[attr-defined]


@dataclass(frozen=True)
class DifferenceTest:
    """Clean-versus-dirty comparison: ``difference = dirty.score - clean.score``.

    A positive difference means the model does better on items found in training data (the
    contamination gain). ``se`` is the unpooled SE of the difference (for an interval:
    ``difference +- 1.96 se``); ``z`` and ``p_value`` test H0 "same accuracy on both subsets" with the
    pooled SE under H0 (the two-proportion score test), or Fisher's exact test for small counts
    (``method``).
    """

    clean: Measurement
    dirty: Measurement
    difference: float
    se: float
    z: float
    p_value: float
    method: Literal["score", "fisher"] = "score"

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["clean"] = self.clean.to_dict()
        d["dirty"] = self.dirty.to_dict()
        return json_safe(d)


def compare_subsets(
    correct: Sequence[float], in_subset: Sequence[bool], clusters: Sequence[str] | None = None
) -> DifferenceTest:
    """Accuracy on clean items (``in_subset`` True) versus dirty items (False), and a test of the gap.

    Both subsets must be non-empty. With clusters, each subset's SE is clustered and the pooled SE
    under H0 is inflated by the whole sample's design effect. Shared clusters make the two subset
    means positively correlated; ignoring that covariance overstates the SE of the difference
    (conservative). Unclustered 0/1 scores with an expected cell count below 5 get Fisher's exact
    test (scipy) instead of the normal approximation.
    """
    x = _as_scores(correct)
    mask = np.asarray(list(in_subset), dtype=bool)
    if mask.shape != x.shape:
        raise ValueError(f"{x.size} scores but {mask.size} clean/dirty flags")
    if mask.all() or not mask.any():
        which = "dirty" if mask.all() else "clean"
        raise ValueError(f"no {which} items: a clean-versus-dirty comparison needs both subsets")
    labels = None if clusters is None else np.asarray([str(c) for c in clusters], dtype=object)
    if labels is not None and labels.size != x.size:
        raise ValueError(f"{x.size} scores but {labels.size} cluster labels")
    clean = measure(x[mask], None if labels is None else list(labels[mask]))
    dirty = measure(x[~mask], None if labels is None else list(labels[~mask]))
    diff = dirty.score - clean.score
    se = math.sqrt(clean.se**2 + dirty.se**2)
    pooled = measure(x, None if labels is None else list(labels))
    p = pooled.score
    se0 = math.sqrt(pooled.design_effect * p * (1.0 - p) * (1.0 / clean.n + 1.0 / dirty.n))
    # se0 == 0: every item right (or every item wrong) in both subsets: no difference at all
    z = diff / se0 if se0 > 0.0 else 0.0
    method: Literal["score", "fisher"] = "score"
    binary = bool(np.all((x == 0.0) | (x == 1.0)))
    k_clean, k_dirty = round(clean.score * clean.n), round(dirty.score * dirty.n)
    expected_min = min(n_ * q for n_ in (clean.n, dirty.n) for q in (p, 1.0 - p))
    if labels is None and binary and expected_min < 5.0:
        method = "fisher"
        table = [[k_dirty, dirty.n - k_dirty], [k_clean, clean.n - k_clean]]
        p_value = float(stats.fisher_exact(table, alternative="two-sided").pvalue)
    else:
        p_value = 1.0 if z == 0.0 else _two_sided_normal_p(z)
    return DifferenceTest(
        clean=clean, dirty=dirty, difference=diff, se=se, z=z, p_value=min(1.0, p_value), method=method
    )


def stratified_estimate(
    values: Sequence[float],
    strata: Sequence[str],
    population_sizes: dict[str, int],
    confidence: float = 0.95,
) -> dict[str, Any]:
    """Estimate of a population mean from per-stratum samples, each stratum weighted by its size.

    Why: the MMLU copy we ship is MMLU-Redux's 100 questions per subject, and `--limit` also takes
    the same number per subject, so a plain mean weights a 100-question subject like the
    1534-question professional_law; the claim is about the full test set. Standard stratified
    sampling (Cochran 1977, "Sampling Techniques", ch. 5): ``mean = sum_h W_h mean_h`` with
    ``W_h = N_h / N`` over the strata present, and ``Var = sum_h W_h^2 s_h^2 / n_h`` (``s_h^2`` with
    n_h - 1; a stratum with a single item, whose variance cannot be estimated, is given the sample
    variance of all items instead). No finite-population correction: like every
    other interval here it is about the model's accuracy on questions like these (Miller 2024's
    super-population view), not about the fixed test set, which would get a zero-width interval once
    fully scored. The interval is the normal one clipped to [0, 1].
    """
    x = _as_scores(values)
    labels = [str(s) for s in strata]
    if len(labels) != x.size:
        raise ValueError(f"{x.size} scores but {len(labels)} stratum labels")
    unknown = sorted(set(labels) - set(population_sizes))
    if unknown:
        raise ValueError(f"no population size for stratum {unknown[0]!r}")
    groups: dict[str, list[float]] = {}
    for value, label in zip(x.tolist(), labels, strict=True):
        groups.setdefault(label, []).append(value)
    total = sum(population_sizes[h] for h in groups)
    overall_var = float(np.var(x, ddof=1)) if x.size > 1 else 0.25  # 0.25: the largest 0/1 variance
    mean = variance = 0.0
    for h, vals in groups.items():
        n_h, big_n = len(vals), population_sizes[h]
        if n_h > big_n:
            raise ValueError(f"{n_h} items in stratum {h!r}, whose population has only {big_n}")
        w = big_n / total
        m_h = sum(vals) / n_h
        s2 = sum((v - m_h) ** 2 for v in vals) / (n_h - 1) if n_h > 1 else overall_var
        mean += w * m_h
        variance += w * w * s2 / n_h
    se = math.sqrt(variance)
    z = _z(confidence)
    return {
        "score": mean,
        "se": se,
        "ci_low": max(0.0, mean - z * se),
        "ci_high": min(1.0, mean + z * se),
        "confidence": confidence,
        "strata": len(groups),
        "population": total,
        "method": "stratified",
    }


def measure_stratified(
    values: Sequence[float],
    strata: Sequence[str],
    population_sizes: dict[str, int],
    confidence: float = 0.95,
    stratum_key: str = "subject",
) -> Measurement:
    """The population score from per-stratum samples (``stratified_estimate``) as a Measurement.

    Used for MMLU: the claim is about the micro-average over the 14042-question test set, so each
    subject is weighted by its size; the subjects are fixed strata of the design, not a random draw of
    clusters, so their SE is the stratified one (Cochran 1977 ch. 5), not a cluster-robust one. The
    interval is Wilson's with Kish's effective n = p(1-p)/SE^2, like the clustered case, so it stays
    inside [0, 1] at the edges.
    """
    est = stratified_estimate(values, strata, population_sizes, confidence)
    x = _as_scores(values)
    p, se = float(est["score"]), float(est["se"])
    n = int(x.size)
    se_binomial = math.sqrt(p * (1.0 - p) / n)
    if se > 0.0 and 0.0 < p < 1.0:
        n_eff = p * (1.0 - p) / (se * se)
        deff = (se / se_binomial) ** 2
    else:
        n_eff, deff = float(n), 1.0
    low, high = wilson_interval(p * n_eff, n_eff, confidence)
    return Measurement(
        score=p,
        n=n,
        se=se if se > 0.0 else se_binomial,
        ci_low=low,
        ci_high=high,
        se_method="stratified",
        n_clusters=int(est["strata"]),
        confidence=confidence,
        design_effect=deff,
        cluster_key=stratum_key,
        sample_mean=float(x.mean()),
    )
