"""Published results as data, and the check of every ceiling against them.

``published_results.toml`` lists undisputed published scores (model, benchmark, setting, value,
source) and the motivating case's claims. ``ceiling_validation`` judges each with the same function a
verify run uses (``verdict.judge_claims`` in plausibility mode, each result on its own, without a
family correction, so the check is as strict as it can be): a ceiling that calls an honest result
implausible is wrong, and the test suite fails.
"""

from __future__ import annotations

import tomllib
from importlib import resources
from typing import Any

from harness.verify.ceilings import decimals_of, label_error_ceiling
from harness.verify.verdict import ClaimInput, judge_claims


def load_published_results() -> dict[str, list[dict[str, Any]]]:
    """``{"result": [...], "claim": [...]}`` from the bundled TOML; values in percent."""
    text = resources.files("harness.verify").joinpath("published_results.toml").read_text(encoding="utf-8")
    data = tomllib.loads(text)
    return {"result": list(data.get("result", [])), "claim": list(data.get("claim", []))}


def ceiling_validation(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each entry with the ceiling's verdict on it (``label``), its p-value and the ceiling used."""
    out = []
    for entry in entries:
        ceiling = label_error_ceiling(entry["benchmark"])
        claim = ClaimInput(
            benchmark=entry["benchmark"],
            claimed=float(entry["value"]) / 100.0,
            decimals=decimals_of(entry["value"]),
            ceiling=ceiling,
        )
        judgement = judge_claims([claim]).judgements[0]
        out.append(
            {
                **entry,
                "label": judgement.verdict.label,
                "p_value": judgement.ceiling_test.p_value if judgement.ceiling_test else None,
                "ceiling": ceiling.value if ceiling else None,
                "ceiling_upper_bound": ceiling.value_high if ceiling else None,
            }
        )
    return out
