"""The floor tables: exact binomial bounds, resume keys, distinct records, rendering."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from harness.testing import floor


def test_clopper_pearson_upper_zero_failures_closed_form() -> None:
    # With k = 0 the exact one-sided bound is 1 - alpha^(1/n).
    for n in (1, 23, 200, 299):
        assert floor.clopper_pearson_upper(0, n) == pytest.approx(1 - 0.05 ** (1 / n), rel=1e-9)
    assert floor.clopper_pearson_upper(0, 299) < 0.01 < floor.clopper_pearson_upper(0, 298)
    assert floor.clopper_pearson_upper(0, 0) is None
    assert floor.clopper_pearson_upper(5, 5) == 1.0


def test_clopper_pearson_interval_matches_beta_quantiles() -> None:
    from scipy.stats import beta

    lo, hi = floor.clopper_pearson_interval(3, 20)
    assert lo == pytest.approx(beta.ppf(0.025, 3, 18)) and hi == pytest.approx(beta.ppf(0.975, 4, 17))
    assert floor.clopper_pearson_interval(0, 0) is None


def test_code_digest_changes_with_source(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("x = 1\n")
    d1 = floor.code_digest(tmp_path)
    (tmp_path / "a.py").write_text("x = 2\n")
    assert floor.code_digest(tmp_path) != d1


def _record(verdict: str, *, port: int = 1, seconds: float = 1.0, seed: int = 0, stat: str = "s") -> dict:
    return {
        "verdict": verdict,
        "status": "clean",
        "weights_relation": "identical",
        "headline": "h",
        "endpoint": f"http://127.0.0.1:{port}/v1",
        "settings": {"seed": seed, "budget": 200},
        "capabilities": {"mode": "completions"},
        "cost": {"requests": 10, "prompt_tokens": 90, "completion_tokens": 10},
        "evidence": [
            {
                "name": "logprob_probe",
                "supports": "match",
                "p_value": 0.5,
                "decisive": True,
                "statistic": stat,
            }
        ],
        "timing": {"seconds": seconds},
    }


def test_record_digest_ignores_timing_port_and_seed_only() -> None:
    a = floor.record_digest(_record("match", port=1, seconds=1.0, seed=0))
    assert a == floor.record_digest(_record("match", port=2, seconds=9.0, seed=5))
    assert a != floor.record_digest(_record("match", stat="other"))
    row = floor.compact_run(_record("match"))
    assert row["tokens"] == 100 and row["requests"] == 10 and row["verdict"] == "match"
    assert floor.compact_run({"status": "error", "error": "refused"})["verdict"] == "error"


def _row(endpoint: str, klass: str, honest: bool, verdict: str, seed: int, stat: str = "s") -> dict:
    r = floor.compact_run(_record(verdict, seed=seed, stat=stat))
    return {
        "key": floor.run_key(endpoint, seed, 200, "c"),
        "endpoint": endpoint,
        "class": klass,
        "honest": honest,
        **r,
    }


def test_summarise_counts_floor_power_and_distinct_records() -> None:
    rows = [_row("fp32", "reference", True, "match", s) for s in range(10)]
    rows += [
        _row("bf16", "dtype", True, "mismatch" if s == 0 else "match", s, stat=str(s)) for s in range(10)
    ]
    rows += [_row("q2", "aggressive-quantisation", True, "mismatch", s) for s in range(3)]
    rows += [
        _row("ft", "fine-tune", False, v, s)
        for s, v in enumerate(["mismatch"] * 6 + ["match", "inconclusive"])
    ]
    rows.append({"key": "ft|failure", "endpoint": "ft", "failure": True, "error": "boom"})
    rows.append(_row("fp32", "reference", True, "mismatch", 0))  # a rerun of a key: the last row wins
    s = floor.summarise(rows)
    by = {c["class"]: c for c in s["honest_floor"]}
    assert by["reference"]["runs"] == 10 and by["reference"]["mismatch"] == 1
    assert by["reference"]["distinct_records"] == 2  # identical records across seeds count once
    assert by["dtype"]["distinct_records"] == 10
    assert not by["aggressive-quantisation"]["in_floor"]
    total = s["honest_total"]
    assert total["runs"] == 20 and total["mismatch"] == 2  # aggressive quantisations not in the headline
    assert total["false_mismatch_upper95"] == pytest.approx(floor.clopper_pearson_upper(2, 20))
    (p,) = s["power"]
    assert (p["runs"], p["mismatch"], p["match"], p["inconclusive"]) == (8, 6, 1, 1)
    assert p["detection_rate"] == 0.75 and p["median_tokens"] == 100
    md = floor.render_markdown(s, meta={"code": "c"})
    assert "| all honest (headline) | 2 | 20 |" in md
    assert "aggressive-quantisation (not in headline)" in md
    assert "| fine-tune | 1 | 8 | 6 | 75.0% (" in md
    assert not math.isnan(total["median_tokens"])


def test_completed_skips_failures() -> None:
    rows = [{"key": "a|failure", "failure": True}, {"key": "b", "verdict": "match"}]
    assert list(floor.completed(rows)) == ["b"]


def test_precision_tiers_of_the_zoo_and_claims() -> None:
    from harness.testing import floor
    from harness.testing.zoo import catalogue

    eps = {e.name: e for e in catalogue()}
    assert eps["fp32"].precision == "16bit" and eps["bf16-mode-no_logprobs"].precision == "16bit"
    assert eps["llama.cpp-f32"].precision == "16bit" and eps["llama.cpp-Q8_0"].precision == "8bit"
    assert eps["llama.cpp-Q6_K"].precision == "4bit" and eps["llama.cpp-Q2_K"].precision == "below-4bit"
    assert eps["ft-adamw-lr0.0001-40step"].precision is None
    assert eps["llama.cpp-Q8_0"].within("8bit") and not eps["llama.cpp-Q8_0"].within("16bit")
    assert not eps["ft-adamw-lr0.0001-40step"].within("4bit")
    assert floor.claim_class(True, "quantisation", False, "4bit") == (True, "quantisation")
    assert floor.claim_class(True, "quantisation", False, "8bit") == (
        False,
        "quantised below the claimed 8bit",
    )
    assert floor.claim_class(True, "dtype", True, "16bit") == (True, "dtype")
    assert floor.claim_class(False, "fine-tune (adamw)", False, "16bit") == (False, "fine-tune (adamw)")
    assert floor.run_key("fp32", 1, 200, "c") == "fp32|seed=1|budget=200|code=c"
    assert floor.run_key("fp32", 1, 200, "c", "8bit").endswith("|tolerance=8bit")
