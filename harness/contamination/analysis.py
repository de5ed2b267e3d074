"""From score matrices to one benchmark's findings: tests, inflation estimate, verdict, ranked items.

Pure: every input is a matrix of per-item, per-version scores (column 0 the original, columns 1..K the
twins) already computed by the runner, so the whole decision is testable without a model.

Streams combined into the model-level test: accuracy (lm-eval's own metric) and the log-likelihood of
the item's text; each is put on one scale by its pooled within-item spread
(``statistics.standardised_contrasts``) and the sum is tested by randomisation. The completion test and
Min-K%++ are reported on their own and never decide (see ``DECIDING_STREAMS``).

Calibration, in order of preference (the first available one decides the verdict):

* ``reference``: a model known not to have seen the items is scored on the same versions; each stream
  becomes model minus reference, so whatever makes a clean model prefer the originals (nicer numbers,
  easier wording) cancels, and the randomisation over versions is exact under "the original is no more
  special to the model than to the reference".
* ``control``: items of a split from the same distribution (GSM8K's train split; its test/train split
  was random) are twinned and scored the same way; the test items' contrasts are compared with the
  control items' by randomisation over the test/control labels. A model trained on the train split
  (a legitimate use) only raises the control's contrasts, so it can hide test contamination but never
  cause an accusation; a model that saw both splits is missed, and the report says so.
* ``option order``: multiple-choice twins only reorder options; when the published order is arbitrary
  (items with a natural order are left out when the twins are made), a clean model cannot prefer it,
  so the randomisation over versions is itself calibrated.
* none (GSM8K without a reference or control): the within-item test is not calibrated, because a clean
  model may prefer the published numbers; a significant result is ``inconclusive``, never an accusation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from harness.contamination.statistics import (
    TestResult,
    bootstrap_diff_ci,
    bootstrap_mean_ci,
    contrasts,
    mcnemar_exact,
    minimum_detectable_difference,
    pooled_scale,
    two_sample_test,
    version_permutation_test,
)

VERDICTS = ("contaminated", "no evidence", "inconclusive")
STATUS_OF_VERDICT = {"contaminated": "contaminated", "no evidence": "clean", "inconclusive": "inconclusive"}
# Completion is reported, not deciding: a GSM8K twin keeps every word of its original, so a model that
# memorised the item completes the twin's question just as well (measured: fuzzy match 0.99 on both for
# SmolLM2 fine-tuned on test items), and its absolute rate cannot be calibrated against a reference
# without taking a fine-tune's learned GSM8K style for memorisation.
DECIDING_STREAMS = ("accuracy", "loglikelihood")
TOP_ITEMS = 20
MIN_ITEMS = 10


@dataclass
class Streams:
    """Per-item, per-version score matrices of one model on one set of items (None: not measured)."""

    accuracy: np.ndarray | None = None
    loglikelihood: np.ndarray | None = None
    completion: np.ndarray | None = None  # fuzzy completion score 0..1
    completion_exact: np.ndarray | None = None
    min_k_plus_plus: np.ndarray | None = None

    def deciding(self) -> dict[str, np.ndarray]:
        out = {}
        for name in DECIDING_STREAMS:
            m = getattr(self, name)
            if m is not None and np.isfinite(m).any():
                out[name] = np.asarray(m, dtype=float)
        return out


@dataclass
class Calibration:
    """Which calibration applies and the matrices it needs."""

    kind: str | None  # "reference" | "control" | "option order" | None
    reference: Streams | None = None  # the reference model on the same items and versions
    control: Streams | None = None  # the model on control items
    control_reference: Streams | None = None
    notes: list[str] = field(default_factory=list)


def _finite_rows(matrices: list[np.ndarray]) -> np.ndarray:
    mask = np.ones(matrices[0].shape[0], dtype=bool)
    for m in matrices:
        mask &= np.all(np.isfinite(m), axis=1)
    return mask


def _minus(a: Streams, b: Streams) -> Streams:
    out = Streams()
    for name in ("accuracy", "loglikelihood", "completion", "completion_exact", "min_k_plus_plus"):
        x, y = getattr(a, name), getattr(b, name)
        if x is not None and y is not None:
            setattr(out, name, np.asarray(x, dtype=float) - np.asarray(y, dtype=float))
    return out


def accuracy_summary(acc: np.ndarray, alpha: float, seed: int) -> dict[str, Any]:
    """Scores on originals and twins, the drop with its 95% CI, McNemar per twin set, and the spread
    between twin sets (how much two private test sets of the same items differ by chance)."""
    acc = np.asarray(acc, dtype=float)
    original = acc[:, 0]
    twins = acc[:, 1:]
    per_item_drop = original - twins.mean(axis=1)
    low, high = bootstrap_mean_ci(per_item_drop, seed=seed)
    per_set = [float(twins[:, j].mean()) for j in range(twins.shape[1])]
    paired = version_permutation_test(contrasts(acc), name="accuracy drop", seed=seed, alpha=alpha)
    return {
        "n": len(original),
        "original": float(original.mean()),
        "twins": float(twins.mean()),
        "twin_sets": per_set,
        "twin_set_spread": float(max(per_set) - min(per_set)) if len(per_set) > 1 else None,
        "drop": float(per_item_drop.mean()),
        "drop_ci": [low, high],
        "p_value": paired.p_value,  # paired randomisation test of the drop (uncalibrated)
        "mcnemar": [mcnemar_exact(original, twins[:, j]) for j in range(twins.shape[1])],
        "mde_drop": minimum_detectable_difference(
            float(per_item_drop.std(ddof=1)) if len(per_item_drop) > 1 else float("nan"),
            len(per_item_drop),
            alpha,
        ),
    }


def inflation_estimate(
    model: Streams, calibration: Calibration, alpha: float, seed: int
) -> dict[str, Any] | None:
    """The score inflation in points: the drop on twins beyond what a clean model shows (ConStat's
    effect size). Reference: drop(model) - drop(reference) on the same items; control: drop on test
    items - drop on control items; otherwise the raw drop (flagged as uncalibrated)."""
    if model.accuracy is None:
        return None
    drop = model.accuracy[:, 0] - model.accuracy[:, 1:].mean(axis=1)
    if (
        calibration.kind == "reference"
        and calibration.reference
        and calibration.reference.accuracy is not None
    ):
        ref = calibration.reference.accuracy
        d = drop - (ref[:, 0] - ref[:, 1:].mean(axis=1))
        low, high = bootstrap_mean_ci(d, seed=seed)
        sd = float(d.std(ddof=1)) if len(d) > 1 else float("nan")
        return {
            "points": 100 * float(d.mean()),
            "ci_points": _pts(low, high),
            "calibrated_by": "reference",
            "clean_drop_points": 100 * float((ref[:, 0] - ref[:, 1:].mean(axis=1)).mean()),
            "mde_points": _pt(minimum_detectable_difference(sd, len(d), alpha)),
        }
    if calibration.kind == "control" and calibration.control and calibration.control.accuracy is not None:
        ctl = calibration.control.accuracy
        cdrop = ctl[:, 0] - ctl[:, 1:].mean(axis=1)
        low, high = bootstrap_diff_ci(drop, cdrop, seed=seed)
        se = (
            math.sqrt(drop.var(ddof=1) / len(drop) + cdrop.var(ddof=1) / len(cdrop))
            if len(drop) > 1 and len(cdrop) > 1
            else float("nan")
        )
        return {
            "points": 100 * float(drop.mean() - cdrop.mean()),
            "ci_points": _pts(low, high),
            "calibrated_by": "control",
            "clean_drop_points": 100 * float(cdrop.mean()),
            "mde_points": _pt(minimum_detectable_difference(se, 1, alpha, standard_error=True)),
        }
    low, high = bootstrap_mean_ci(drop, seed=seed)
    sd = float(drop.std(ddof=1)) if len(drop) > 1 else float("nan")
    return {
        "points": 100 * float(drop.mean()),
        "ci_points": _pts(low, high),
        "calibrated_by": None,
        "clean_drop_points": None,
        "mde_points": _pt(minimum_detectable_difference(sd, len(drop), alpha)),
    }


def _pt(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(x) else 100 * x


def _pts(low: float | None, high: float | None) -> list[float | None]:
    return [_pt(low), _pt(high)]


def stream_tests(streams: Streams, *, alpha: float, seed: int, label: str) -> dict[str, dict[str, Any]]:
    """One randomisation test per stream (original vs twins), reported next to the combined one."""
    out = {}
    for name, m in {
        **streams.deciding(),
        **({"min_k_plus_plus": streams.min_k_plus_plus} if streams.min_k_plus_plus is not None else {}),
    }.items():
        m = np.asarray(m, dtype=float)
        m = m[np.all(np.isfinite(m), axis=1)]
        if len(m) == 0:
            continue
        t = version_permutation_test(contrasts(m), name=f"{name} ({label})", seed=seed, alpha=alpha)
        out[name] = {**t.to_dict(), "weak": name == "min_k_plus_plus"}
    return out


def combined_test(
    model: Streams, calibration: Calibration, *, alpha: float, seed: int
) -> tuple[TestResult, np.ndarray, dict[str, float], np.ndarray]:
    """The model-level test: (result, per-item combined contrast of the originals, stream scales, mask).

    With a control, scales are pooled over test and control items (so they do not depend on which
    items are labelled test), and the test is two-sample; otherwise it is over versions within items.
    """
    scored = (
        _minus(model, calibration.reference)
        if calibration.kind == "reference" and calibration.reference
        else model
    )
    streams = scored.deciding()
    if not streams:
        raise ValueError("no score stream was measured")
    mask = _finite_rows(list(streams.values()))
    if calibration.kind == "control" and calibration.control is not None:
        control = calibration.control.deciding()
        names = [n for n in streams if n in control]
        cmask = _finite_rows([control[n] for n in names])
        scales = {n: pooled_scale(np.vstack([streams[n][mask], control[n][cmask]])) for n in names}
        test_c = _combine({n: streams[n][mask] for n in names}, scales)
        ctrl_c = _combine({n: control[n][cmask] for n in names}, scales)
        result = two_sample_test(
            test_c[:, 0], ctrl_c[:, 0], name="combined (test vs control items)", seed=seed, alpha=alpha
        )
        return result, test_c[:, 0], scales, mask
    scales = {n: pooled_scale(m[mask]) for n, m in streams.items()}
    c = _combine({n: m[mask] for n, m in streams.items()}, scales)
    label = (
        "combined (model minus reference)"
        if calibration.kind == "reference"
        else "combined (original vs twins)"
    )
    result = version_permutation_test(c, name=label, seed=seed, alpha=alpha)
    return result, c[:, 0], scales, mask


def _combine(streams: dict[str, np.ndarray], scales: dict[str, float]) -> np.ndarray:
    total = None
    for name, m in streams.items():
        part = contrasts(m) / scales[name] if scales[name] > 0 else np.zeros_like(m, dtype=float)
        total = part if total is None else total + part
    assert total is not None
    return total


def decide(
    test: TestResult,
    calibration_kind: str | None,
    inflation: dict[str, Any] | None,
    *,
    alpha: float,
    max_mde_points: float,
) -> dict[str, Any]:
    """The verdict and the sentence that justifies it (what it found, or what it could have missed)."""
    reasons: list[str] = []
    power: dict[str, Any] = {
        "alpha": alpha,
        "mde_combined": test.mde,
        "mde_inflation_points": inflation.get("mde_points") if inflation else None,
    }
    if test.n < MIN_ITEMS:
        reasons.append(f"only {test.n} items could be tested (at least {MIN_ITEMS} are needed)")
        return {
            "label": "inconclusive",
            "reasons": reasons,
            "power": power,
            "calibrated_by": calibration_kind,
        }
    significant = test.p_value < alpha
    if calibration_kind is None:
        if significant:
            reasons.append(
                f"the originals are favoured over their twins (p={test.p_value:.3g}), but without a reference "
                "model or control items this cannot be told apart from a clean model's preference for the "
                "published numbers or wording: give --reference to decide"
            )
            return {"label": "inconclusive", "reasons": reasons, "power": power, "calibrated_by": None}
        reasons.append(
            f"the originals are not favoured over their twins (p={test.p_value:.3g}); uncalibrated, but a "
            "clean model's bias would only have pushed towards a flag"
        )
    elif significant:
        reasons.append(f"{test.name}: p={test.p_value:.3g} < {alpha:g}, calibrated by {calibration_kind}")
        if inflation and inflation.get("points") is not None:
            ci = inflation.get("ci_points") or [None, None]
            reasons.append(
                f"estimated score inflation {inflation['points']:.1f} points"
                + (f" (95% CI {ci[0]:.1f} to {ci[1]:.1f})" if ci[0] is not None and ci[1] is not None else "")
            )
        return {
            "label": "contaminated",
            "reasons": reasons,
            "power": power,
            "calibrated_by": calibration_kind,
        }
    else:
        reasons.append(
            f"{test.name}: p={test.p_value:.3g}, not below {alpha:g} (calibrated by {calibration_kind})"
        )
    mde = power["mde_inflation_points"]
    if mde is not None and mde > max_mde_points:
        reasons.append(
            f"too little power to clear: an inflation below {mde:.1f} points would likely be missed "
            f"(limit {max_mde_points:g}); score more items"
        )
        return {
            "label": "inconclusive",
            "reasons": reasons,
            "power": power,
            "calibrated_by": calibration_kind,
        }
    if mde is not None:
        reasons.append(f"would have detected a score inflation of {mde:.1f} points or more with 80% power")
    elif test.mde is not None:
        reasons.append(
            f"would have detected a mean combined contrast of {test.mde:.2f} or more with 80% power"
        )
    return {"label": "no evidence", "reasons": reasons, "power": power, "calibrated_by": calibration_kind}


def ranked_items(
    item_ids: list[str], score: np.ndarray, mask: np.ndarray, model: Streams
) -> list[dict[str, Any]]:
    """Every tested item with its combined contrast and per-stream numbers, most likely seen first."""
    ids = [i for i, keep in zip(item_ids, mask, strict=True) if keep]
    rows = []
    kept = np.flatnonzero(mask)
    for pos, (item_id, s) in enumerate(zip(ids, score, strict=True)):
        i = kept[pos]
        row: dict[str, Any] = {"item_id": item_id, "score": _r(float(s))}
        if model.accuracy is not None:
            row["original_correct"] = _r(float(model.accuracy[i, 0]))
            row["twins_correct"] = _r(float(model.accuracy[i, 1:].mean()))
        if model.loglikelihood is not None:
            row["loglikelihood_ratio"] = _r(
                float(model.loglikelihood[i, 0] - model.loglikelihood[i, 1:].mean())
            )
        if model.completion is not None and np.isfinite(model.completion[i, 0]):
            row["completion_fuzzy"] = _r(float(model.completion[i, 0]))
        if model.min_k_plus_plus is not None:
            row["min_k_plus_plus_gain"] = _r(
                float(model.min_k_plus_plus[i, 0] - model.min_k_plus_plus[i, 1:].mean())
            )
        rows.append(row)
    rows.sort(key=lambda r: (-r["score"], r["item_id"]))
    return rows


def _r(x: float) -> float | None:
    return float(f"{x:.6g}") if math.isfinite(x) else None
