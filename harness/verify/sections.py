"""verify.json's per-benchmark sections, the family of verdicts over them, and the record's status.

Values in, values out: the runner hands over per-item records, lm-eval's results and the run's facts;
this module measures (binomial, stratified for MMLU, clustered for HellaSwag), compares the setting,
counts truncation, and judges every claim of the file together (``verdict.judge_claims``).
"""

from __future__ import annotations

from typing import Any

from harness.data import get_spec
from harness.data.items import BenchmarkSet
from harness.records.formatting import percent
from harness.verify.ceilings import label_error_ceiling, no_ceiling_reason
from harness.verify.claims import Claim, ClaimsFile, Setting
from harness.verify.setting_check import compare_settings, count_truncation
from harness.verify.statistics import Measurement, measure, measure_stratified
from harness.verify.verdict import ClaimInput, Truncation, judge_claims, status_of


def cluster_key(benchmark: str, rows: list[dict[str, Any]]) -> str | None:
    """The real cluster of a benchmark's items, if any (the spec's ``clusters``): HellaSwag items that
    share a source.

    HellaSwag's Hub copy names each item's source video or WikiHow article (``source_id``); several
    items come from one source and share its context, so they are not independent draws. Copies
    without it (the bundled 6-line text release) fall back to ``activity_label`` (the ActivityNet
    activity or WikiHow category), a coarser grouping that contains each source: wider, so safe.
    No other benchmark here has a real cluster (MMLU's subjects are fixed strata, see
    ``statistics.measure_stratified``).
    """
    return get_spec(benchmark).cluster_key(rows)


def measure_records(benchmark: str, records: list[dict[str, Any]], bs: BenchmarkSet) -> Measurement:
    """The benchmark's score as its full test set weighs it, with the right standard error."""
    correct = [float(r["correct"]) for r in records]
    strata = get_spec(benchmark).strata
    if strata is not None:
        # a record carries its stratum in "subject" (harness.verify.records)
        return measure_stratified(correct, [r["subject"] for r in records], strata.sizes)
    rows = list(bs.rows)
    key = cluster_key(benchmark, rows)
    if key is not None:
        row_of = {item.item_id: i for i, item in enumerate(bs.items)}
        labels = [str(rows[row_of[r["item_id"]]].get(key) or "") for r in records]
        return measure(correct, clusters=labels, cluster_key=key)
    return measure(correct)


def claim_input(
    benchmark: str,
    claim: Claim,
    measurement: Measurement | None,
    differences: list[str],
    truncation: Truncation | None,
) -> ClaimInput:
    return ClaimInput(
        benchmark=benchmark,
        claimed=claim.value / 100.0,
        decimals=claim.decimals,
        measurement=measurement,
        ceiling=label_error_ceiling(benchmark),
        setting_differences=tuple(differences),
        truncation=truncation,
    )


def plausibility_section(benchmark: str, claim: Claim) -> dict[str, Any]:
    """A section with nothing measured: the claim and its ceiling only (``--plausibility-only``)."""
    ceiling = label_error_ceiling(benchmark)
    return {
        "title": get_spec(benchmark).title,
        "setting": claim.setting.to_dict(),
        "metric_key": claim.setting.metric_key,
        "partial": False,
        "data": None,
        "lm_eval": None,
        "lm_eval_score": None,
        "measurement": None,
        "full_test_estimate": None,
        "ceiling": ceiling.to_dict() if ceiling else None,
        "ceiling_note": None if ceiling else no_ceiling_reason(benchmark),
        "claim": claim.to_dict(),
        "claim_test": None,
        "ceiling_test": None,
        "setting_comparison": None,
        "truncation": None,
        "verdict": None,
        "caveats": ["not measured (--plausibility-only): only the label-error ceiling was checked"],
        "contamination": None,
    }


def compare_claim_setting(
    benchmark: str, claim: Claim, run: Setting, run_max_gen_toks: int | None, forced: list[str]
) -> dict[str, Any]:
    from harness.verify.tasks import effective_shots

    generative = get_spec(benchmark).generative
    return compare_settings(
        benchmark,
        claim,
        effective_shots(benchmark, claim.setting),
        run,
        run_max_gen_toks if generative else None,
        generative,
        forced,
    ).to_dict()


def truncation_of(
    benchmark: str, records: list[dict[str, Any]], max_gen_toks: int | None, tokenizer: bool
) -> Truncation | None:
    if not get_spec(benchmark).generative:
        return None
    return count_truncation(records, max_gen_toks, tokenizer)


def judge_sections(
    sections: dict[str, dict[str, Any]],
    claims_file: ClaimsFile | None,
    measurements: dict[str, Measurement | None],
    truncations: dict[str, Truncation | None],
) -> dict[str, Any] | None:
    """Judge every claimed benchmark in ``sections`` as one family; fill verdicts in place.

    Returns the family record (correction, alpha, each test's raw and adjusted p-value), or None
    when nothing is claimed.
    """
    if claims_file is None:
        return None
    names = [n for n in sections if claims_file.get(n) is not None]
    if not names:
        return None
    inputs = []
    for name in names:
        claim = claims_file.get(name)
        assert claim is not None
        comparison = sections[name].get("setting_comparison") or {}
        inputs.append(
            claim_input(
                name,
                claim,
                measurements.get(name),
                list(comparison.get("differences") or []),
                truncations.get(name),
            )
        )
    result = judge_claims(inputs)
    for name, judgement in zip(names, result.judgements, strict=True):
        sec = sections[name]
        sec["claim_test"] = judgement.claim_test
        sec["ceiling_test"] = judgement.ceiling_test.to_dict() if judgement.ceiling_test else None
        assumed = (sec.get("setting_comparison") or {}).get("assumed") or []
        sec["verdict"] = {
            "label": judgement.verdict.label,
            "reasons": [*judgement.verdict.reasons, *assumed, *sec.get("caveats", [])],
        }
    return result.family


def status_and_headline(
    sections: dict[str, Any], has_claims: bool, claims_not_run: list[str]
) -> tuple[str, str]:
    """The record's status (exit-code table) and one sentence saying why."""
    parts = []
    labels = []
    for name, sec in sections.items():
        m = sec.get("measurement")
        measured = (
            f"{percent(m['score'])} [{percent(m['ci_low'])}, {percent(m['ci_high'])}], n={m['n']}"
            if m
            else None
        )
        verdict = sec.get("verdict")
        if sec.get("claim") is not None and verdict is not None:
            label = verdict.get("label")
            labels.append(label)
            text = f"{name} claimed {sec['claim']['value']:g}% is {label}"
            parts.append(text + (f" (measured {measured})" if measured else " (not measured)"))
        else:
            parts.append(f"{name} measured {measured}" if measured else f"{name}: nothing measured")
        if sec.get("partial"):
            parts[-1] += " on a partial test set"
    tail = (
        f" Claims not checked (not in --benchmarks): {', '.join(claims_not_run)}." if claims_not_run else ""
    )
    if not has_claims:
        return "clean", "No claims given; " + "; ".join(parts) + "." + tail
    return status_of(labels, incomplete=bool(claims_not_run)), "; ".join(parts) + "." + tail
