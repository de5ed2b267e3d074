"""Label-error ceilings: hand-computed values, the bundled MMLU-Redux audit, the ceiling test, bad input."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from harness.data import MMLU_SUBJECTS, get_spec
from harness.verify.ceilings import (
    ceiling_test,
    decimals_of,
    generous_claim,
    gsm8k_ceiling,
    label_error_ceiling,
    mmlu_ceiling_from_annotations,
    no_ceiling_reason,
)

# MMLU's subject sizes are the strata of its benchmark spec (harness/data/benchmarks/mmlu.toml).
MMLU_TEST_SIZES = get_spec("mmlu").strata.sizes


def test_gsm8k_ceiling_counts_only_demonstrated_wrong_keys():
    c = gsm8k_ceiling()
    # 2 relabeled questions (the floor the published text allows) of 1319; the 110 removed get full credit
    assert c.value == pytest.approx(1 - 2 / 1319)  # 0.998484
    assert c.value_low == c.value_high == c.value  # the audit covered the whole test set
    assert c.details["removed_full_credit"] == 110 and c.details["wrong_keys_counted"] == 2
    assert "arXiv:2502.03461" in c.citation
    # each further demonstrated wrong key lowers the ceiling by one question
    assert gsm8k_ceiling(relabeled=13).value == pytest.approx(1 - 13 / 1319)


def test_gsm8k_claims_against_the_exact_ceiling():
    c = gsm8k_ceiling()
    assert ceiling_test(c, 0.968, 1).p_value == 1.0  # Llama 3.1 405B Instruct: possible
    assert ceiling_test(c, 0.992, 1).p_value == 1.0  # Reflection's 99.2: possible by this ceiling
    assert ceiling_test(c, 0.999, 1).p_value == 0.0  # 99.9 (>= 99.85 whichever way it was rounded)
    assert ceiling_test(c, 1.0, 0).p_value == 0.0  # "100" is taken at its word, not as 99.5


def _synthetic(hard: int, other: int) -> list[dict]:
    records = []
    for subject in MMLU_SUBJECTS:
        kinds = ["wrong_groundtruth"] * hard + ["multiple_correct_answers"] * other
        kinds += ["ok"] * (100 - len(kinds))
        records += [{"subject": subject, "error_type": k} for k in kinds]
    return records


def test_mmlu_ceiling_by_hand():
    # every subject: 2 wrong keys (no credit), 4 with several answers (full credit), 94 fine
    c = mmlu_ceiling_from_annotations(_synthetic(2, 4))
    assert c.value == pytest.approx(0.98)
    # Fay-Feuer: y = 0.02, v = sum_s (N_s / (14042 * 100))^2 * 2; lower bound = Gamma(y^2/v, v/y) 5% quantile
    v = sum((n / (14042 * 100)) ** 2 * 2 for n in MMLU_TEST_SIZES.values())
    assert c.details["variance_poisson"] == pytest.approx(v)
    low = stats.gamma.ppf(0.05, 0.02**2 / v, scale=v / 0.02)
    assert c.value_high == pytest.approx(1 - low)
    assert c.details["share_full_credit_flagged"] == pytest.approx(0.04)
    # no hard errors at all: nothing bounds the score below 100%
    assert mmlu_ceiling_from_annotations(_synthetic(0, 9)).value_high == 1.0


def test_mmlu_ceiling_from_the_bundled_mmlu_redux_audit():
    c = label_error_ceiling("mmlu")
    assert c.details["annotated_questions"] == 5700 and c.details["subjects"] == 57
    assert sum(c.details["error_type_counts"].values()) == 5700
    # MMLU-Redux reports 6.49% of its questions with some error; its files give the same share
    assert c.details["share_any_error_unweighted"] == pytest.approx(0.0649, abs=0.002)
    # 107 wrong ground truths + 35 with no correct answer are the only errors an honest model pays for
    assert c.details["hard_errors_unweighted"] == 142
    assert 0.97 < c.value_low < c.value < c.value_high < 0.99
    assert "arXiv:2406.04127" in c.citation


def test_fay_feuer_bound_holds_its_level_on_simulated_audits():
    """An honest claim at exactly the true ceiling is called implausible in at most 5% of re-drawn audits.

    Population: each subject's questions with a known number of wrong keys (between 0 and 6%); an audit
    draws 100 questions per subject without replacement (MMLU-Redux's design). 20000 audits, computed
    with the same formula vectorised (checked against the module on the first 30); the observed
    false-alarm count must stay under the 99.9% Clopper-Pearson-style binomial bound for a 5% rate.
    """
    rng = np.random.default_rng(11)
    sizes = np.array([MMLU_TEST_SIZES[s] for s in MMLU_SUBJECTS])
    hard_pop = (rng.uniform(0.0, 0.06, size=sizes.size) * sizes).round().astype(int)
    true_ceiling = 1.0 - hard_pop.sum() / sizes.sum()
    draws = rng.hypergeometric(hard_pop, sizes - hard_pop, 100, size=(20000, sizes.size))
    w = sizes / (sizes.sum() * 100)
    y = draws @ w
    v = draws @ (w * w)
    p = stats.gamma.cdf(1.0 - true_ceiling, y * y / v, scale=v / y)
    for row, p_row in zip(draws[:30], p[:30], strict=True):
        records = []
        for subject, x in zip(MMLU_SUBJECTS, row, strict=True):
            records += [{"subject": subject, "error_type": "wrong_groundtruth"}] * int(x)
            records += [{"subject": subject, "error_type": "ok"}] * (100 - int(x))
        c = mmlu_ceiling_from_annotations(records)
        assert ceiling_test(c, true_ceiling, decimals=6).p_value == pytest.approx(p_row, rel=1e-4, abs=1e-6)
    false_alarms = int(np.sum(p <= 0.05))
    bound = stats.binom.ppf(0.999, p.size, 0.05)
    assert false_alarms <= bound, (false_alarms, bound)
    print(f"Fay-Feuer ceiling test: {false_alarms} false alarms in {p.size} honest audits (alpha 0.05)")


def test_rounding_is_granted_to_the_claim():
    assert decimals_of(99.2) == 1 and decimals_of(90.94) == 2 and decimals_of(100) == 0
    assert generous_claim(0.992, 1) == pytest.approx(0.9915)
    assert generous_claim(0.9094, 2) == pytest.approx(0.90935)
    assert generous_claim(1.0, 0) == pytest.approx(0.9995)  # at most 0.05 points


def test_benchmarks_without_a_ceiling_say_why():
    for name in ("arc_challenge", "arc_easy", "hellaswag"):
        assert label_error_ceiling(name) is None
        assert no_ceiling_reason(name)
    assert "GoldenSwag" in no_ceiling_reason("hellaswag")


def test_bad_input():
    with pytest.raises(ValueError, match="unknown benchmark"):
        label_error_ceiling("humaneval")
    with pytest.raises(ValueError, match="alpha"):
        label_error_ceiling("mmlu", alpha=0.7)
    records = _synthetic(0, 0)
    records[0] = {"subject": "astrology", "error_type": "ok"}
    with pytest.raises(ValueError, match="record 0: unknown MMLU subject 'astrology'"):
        mmlu_ceiling_from_annotations(records)
    records = _synthetic(0, 0)
    records[5]["error_type"] = "typo"
    with pytest.raises(ValueError, match="record 5: unknown error_type 'typo'"):
        mmlu_ceiling_from_annotations(records)
    with pytest.raises(ValueError, match="no annotations for MMLU subjects"):
        mmlu_ceiling_from_annotations(_synthetic(0, 0)[100:])
    with pytest.raises(ValueError, match="counts within the test set"):
        gsm8k_ceiling(relabeled=-1)
