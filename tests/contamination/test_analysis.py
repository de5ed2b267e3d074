import numpy as np

from harness.contamination.analysis import (
    Calibration,
    Streams,
    accuracy_summary,
    combined_test,
    decide,
    inflation_estimate,
    ranked_items,
)


def _clean(rng, n=40, v=3, bias=0.0):
    acc = (rng.random((n, v)) < 0.3).astype(float)
    acc[:, 0] = np.maximum(
        acc[:, 0], (rng.random(n) < bias).astype(float)
    )  # a clean preference for originals
    ll = rng.normal(size=(n, 1)) * 20 + rng.normal(size=(n, v))
    ll[:, 0] += 2 * bias * 5
    return Streams(accuracy=acc, loglikelihood=ll)


def _seen(streams: Streams, items: list[int]) -> Streams:
    acc, ll = streams.accuracy.copy(), streams.loglikelihood.copy()
    acc[items, 0] = 1.0
    ll[items, 0] += 25.0
    return Streams(accuracy=acc, loglikelihood=ll)


def test_accuracy_summary_drop_and_mcnemar():
    acc = np.array([[1, 0, 0]] * 10 + [[0, 0, 0]] * 10, dtype=float)
    s = accuracy_summary(acc, 0.01, 0)
    assert s["original"] == 0.5 and s["twins"] == 0.0 and s["drop"] == 0.5
    assert s["mcnemar"][0]["original_only"] == 10 and s["mcnemar"][0]["p_value"] < 0.01
    assert s["drop_ci"][0] > 0


def test_reference_calibration_cancels_a_clean_preference():
    rng = np.random.default_rng(0)
    ref = _clean(rng, bias=0.3)
    model = Streams(
        accuracy=ref.accuracy.copy(),
        loglikelihood=ref.loglikelihood + rng.normal(size=ref.loglikelihood.shape) * 0.1,
    )
    uncal, *_ = combined_test(model, Calibration(kind=None), alpha=0.01, seed=0)
    cal, *_ = combined_test(model, Calibration(kind="reference", reference=ref), alpha=0.01, seed=0)
    assert uncal.p_value < 0.01  # the clean preference alone looks like contamination...
    assert cal.p_value > 0.01  # ...until a clean reference is subtracted
    verdict = decide(
        cal,
        "reference",
        inflation_estimate(model, Calibration("reference", reference=ref), 0.01, 0),
        alpha=0.01,
        max_mde_points=40,
    )
    assert verdict["label"] == "no evidence"
    assert decide(uncal, None, None, alpha=0.01, max_mde_points=40)["label"] == "inconclusive"


def test_contaminated_items_are_flagged_and_ranked_first():
    rng = np.random.default_rng(1)
    ref = _clean(rng)
    seen_items = [3, 7, 11, 19, 23, 31]
    model = _seen(ref, seen_items)
    cal = Calibration(kind="reference", reference=ref)
    test, scores, _, mask = combined_test(model, cal, alpha=0.01, seed=0)
    inflation = inflation_estimate(model, cal, 0.01, 0)
    verdict = decide(test, "reference", inflation, alpha=0.01, max_mde_points=40)
    assert verdict["label"] == "contaminated"
    assert inflation["points"] > 0
    ranked = ranked_items([f"gsm8k/test/{i}" for i in range(40)], scores, mask, model)
    top = {r["item_id"] for r in ranked[: len(seen_items)]}
    assert top == {f"gsm8k/test/{i}" for i in seen_items}


def test_control_calibration():
    rng = np.random.default_rng(2)
    test_items, control_items = _clean(rng, bias=0.3), _clean(rng, bias=0.3)
    clean, *_ = combined_test(test_items, Calibration("control", control=control_items), alpha=0.01, seed=0)
    assert clean.p_value > 0.01
    dirty, *_ = combined_test(
        _seen(test_items, list(range(12))), Calibration("control", control=control_items), alpha=0.01, seed=0
    )
    assert dirty.p_value < 0.01
    # trained on the control split (train): only the control looks seen, never an accusation
    legit, *_ = combined_test(
        test_items, Calibration("control", control=_seen(control_items, list(range(20)))), alpha=0.01, seed=0
    )
    assert legit.p_value > 0.5


def test_too_few_items_or_too_little_power_is_inconclusive():
    rng = np.random.default_rng(3)
    small = _clean(rng, n=6)
    test, *_ = combined_test(small, Calibration("option order"), alpha=0.01, seed=0)
    assert decide(test, "option order", None, alpha=0.01, max_mde_points=20)["label"] == "inconclusive"
    big = _clean(rng, n=40)
    test, *_ = combined_test(big, Calibration("option order"), alpha=0.01, seed=0)
    inflation = inflation_estimate(big, Calibration("option order"), 0.01, 0)
    weak = decide(test, "option order", inflation, alpha=0.01, max_mde_points=1.0)
    assert weak["label"] == "inconclusive" and "power" in " ".join(weak["reasons"])
    fine = decide(test, "option order", inflation, alpha=0.01, max_mde_points=200.0)
    assert fine["label"] == "no evidence" and "would have detected" in fine["reasons"][-1]
