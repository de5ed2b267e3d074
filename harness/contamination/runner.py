"""`run_contamination`: twins, scores, memorisation tests and a verdict per benchmark, into one record.

The edges live here (models, lm-eval, files, clocks); the decisions are in ``analysis`` (pure). The
order of work per benchmark: twins for every item (coverage is reported over the whole test set), a
seeded sample of the items that have twins, then for the model (and the reference, and control items
when they calibrate): accuracy on every version through lm-eval, log-likelihoods (and Min-K%++ on
``hf``), greedy completions, and the test-set order test. ``contamination.json`` holds everything a
reviewer needs to check a number, including the exact prompts of the likelihood and completion tests
for the top items; twins themselves are written only into the run's own folder (``twins/``), never
into the repository, and are regenerated from the recorded seed.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from harness.contamination.analysis import (
    STATUS_OF_VERDICT,
    TOP_ITEMS,
    Calibration,
    Streams,
    accuracy_summary,
    combined_test,
    decide,
    inflation_estimate,
    ranked_items,
    stream_tests,
)
from harness.contamination.memorisation import completion_matrix, likelihood_matrix, order_test
from harness.contamination.probes import LmEvalProbe, ModelProbe
from harness.contamination.twins import TwinSet, item_text, make_twins, question_text
from harness.data.registry import get_spec
from harness.records.contamination import SCHEMA, SCHEMA_VERSION, write_contamination_record
from harness.records.files import atomic_write_text, json_safe, package_versions
from harness.records.status import combine_status

DEFAULT_SEED = 1234
TESTS = ("scores", "likelihood", "completion", "order")
# What differs between benchmarks (the kind of twin, whether lm-eval's score sees a reordering, the
# control split) is read from each benchmark's spec: harness/data/benchmarks/*.toml, [contamination].


class ContaminationError(ValueError):
    """The run cannot proceed as asked; the message says what to change."""


@dataclass
class Options:
    """Everything that shapes one run, recorded verbatim in the record's ``settings``."""

    benchmarks: list[str]
    sample: int | Mapping[str, int] | None = None
    seed: int = DEFAULT_SEED
    twins: int = 2
    tests: tuple[str, ...] = TESTS
    control: bool | None = None  # None: use a control split when there is no reference and one exists
    alpha: float = 0.01
    max_mde_points: float = 20.0
    n_shot: int | None = None
    gen_kwargs: dict[str, Any] | None = None
    order_shards: int = 6
    order_shard_size: int = 4
    order_shuffles: int = 6
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Subject:
    """A model under test (or the reference): its lm-eval object, probe and identity."""

    lm: Any
    probe: ModelProbe
    spec: Any
    chat: bool


def select_rows(candidates: list[int], n: int | None, seed: int, benchmark: str, salt: str = "") -> list[int]:
    """A seeded uniform sample of ``n`` of the candidate rows (all when n is None or large enough)."""
    if n is None or n >= len(candidates):
        return list(candidates)
    stream = int.from_bytes(hashlib.sha256(f"{seed}:{benchmark}:{salt}".encode()).digest()[:8], "little")
    picked = np.random.default_rng(stream).choice(len(candidates), size=n, replace=False)
    return sorted(candidates[int(i)] for i in picked)


def sample_size(sample: int | Mapping[str, int] | None, benchmark: str) -> int | None:
    if isinstance(sample, Mapping):
        return sample.get(benchmark, sample.get("default"))
    return sample


def run_contamination(
    *,
    model: str,
    backend: str,
    out_dir: Path,
    benchmarks: list[str] | None = None,
    sample: int | Mapping[str, int] | None = None,
    seed: int = DEFAULT_SEED,
    twins: int = 2,
    reference: str | None = None,
    tests: list[str] | None = None,
    control: bool | None = None,
    alpha: float = 0.01,
    max_mde_points: float = 20.0,
    n_shot: int | None = None,
    base_url: str | None = None,
    api_key_env: str | None = None,
    model_args: dict | None = None,
    reference_args: dict | None = None,
    gen_kwargs: dict | None = None,
    progress: bool = True,
    subjects: tuple[Subject, Subject | None] | None = None,
) -> dict[str, Any]:
    """Measure benchmark contamination of one model; write contamination.json and contamination.md.

    ``subjects`` injects already-built (model, reference) subjects (tests, audits that built them);
    otherwise they are built from ``model``/``backend``/``reference`` through lm-eval.
    Raises ContaminationError (or BackendError) for bad input.
    """
    from harness.data import BENCHMARKS

    started = time.monotonic()
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    names = list(dict.fromkeys(benchmarks or ["gsm8k"]))
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        raise ContaminationError(f"unknown benchmark(s) {unknown}; known: {', '.join(BENCHMARKS)}")
    chosen = tuple(tests or TESTS)
    bad = [t for t in chosen if t not in TESTS]
    if bad:
        raise ContaminationError(f"unknown test(s) {bad}; choose from {', '.join(TESTS)}")
    if twins < 1 or twins > 20:
        raise ContaminationError(f"--twins must be between 1 and 20, got {twins}")
    if not 0 < alpha < 0.5:
        raise ContaminationError(f"--alpha must be in (0, 0.5), got {alpha}")
    for key, value in (
        (k, v) for k, v in (sample.items() if isinstance(sample, Mapping) else [("sample", sample)])
    ):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 2):
            raise ContaminationError(f"{key}: a sample must be at least 2 items, got {value!r}")
    options = Options(
        benchmarks=names,
        sample=sample,
        seed=seed,
        twins=twins,
        tests=chosen,
        control=control,
        alpha=alpha,
        max_mde_points=max_mde_points,
        n_shot=n_shot,
        gen_kwargs=gen_kwargs,
    )
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    durations: dict[str, float] = {}
    t0 = time.monotonic()
    if subjects is None:
        subject, ref_subject = _build_subjects(
            model, backend, reference, base_url, api_key_env, model_args, reference_args, seed
        )
    else:
        subject, ref_subject = subjects
    durations["model_load_s"] = round(time.monotonic() - t0, 3)

    sections: dict[str, Any] = {}
    for name in names:
        t0 = time.monotonic()
        if progress:
            _say(f"[bold]{name}[/]: making twins, scoring originals and {twins} twin set(s)")
        sections[name] = _benchmark(name, subject, ref_subject, options, out_dir, progress)
        durations[f"{name}_s"] = round(time.monotonic() - t0, 3)

    statuses = [STATUS_OF_VERDICT[s["verdict"]] for s in sections.values()]
    status = combine_status(statuses)
    record: dict[str, Any] = {
        "schema": SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "status": status,
        "headline": _headline(sections),
        "model": _identity(subject, model, backend),
        "reference": _identity(ref_subject, reference, "hf") if ref_subject is not None else None,
        "settings": {
            "benchmarks": names,
            "sample": sample,
            "seed": seed,
            "twins_per_item": twins,
            "tests": list(chosen),
            "control": control,
            "alpha": alpha,
            "max_mde_points": max_mde_points,
            "n_shot": n_shot,
            "gen_kwargs": gen_kwargs,
            "api_key_env": api_key_env,
            "order_test": {
                "shards": options.order_shards,
                "shard_size": options.order_shard_size,
                "shuffles": options.order_shuffles,
            },
            "twins_note": "twins are regenerated from the seed at run time; they are written only to this "
            "run's twins/ folder",
        },
        "versions": package_versions(),
        "benchmarks": sections,
    }
    record["timing"] = {
        "started_at": started_at,
        "total_s": round(time.monotonic() - started, 3),
        **durations,
    }
    # validated as JSON will hold it (NaN as null, numpy numbers as Python's); the caller keeps the record
    write_contamination_record(out_dir / "contamination.json", json_safe(record))
    from harness.contamination.report import render_markdown

    atomic_write_text(out_dir / "contamination.md", render_markdown(record))
    return record


def _build_subjects(
    model: str,
    backend: str,
    reference: str | None,
    base_url: str | None,
    api_key_env: str | None,
    model_args: dict | None,
    reference_args: dict | None,
    seed: int,
) -> tuple[Subject, Subject | None]:
    from harness.models.backends import api_key_environment, backend_spec, require_api_key
    from harness.verify.runner import _build_model

    spec = backend_spec(backend, model, base_url=base_url, model_args=model_args, seed=seed)
    require_api_key(api_key_env)
    with api_key_environment(api_key_env):
        lm = _build_model(spec)
    probe = LmEvalProbe(lm, backend=backend, loglikelihood=spec.loglikelihood, chat=spec.chat_only)
    subject = Subject(lm, probe, spec, spec.chat_only)
    ref_subject = None
    if reference is not None:
        ref_backend = "vllm" if backend == "vllm" else "hf"
        ref_spec = backend_spec(ref_backend, reference, model_args=reference_args, seed=seed)
        ref_lm = _build_model(ref_spec)
        ref_subject = Subject(
            ref_lm, LmEvalProbe(ref_lm, backend=ref_backend, loglikelihood=True), ref_spec, False
        )
    return subject, ref_subject


def _identity(subject: Subject | None, name: str | None, backend: str) -> dict[str, Any] | None:
    if subject is None:
        return None
    spec = subject.spec
    if spec is None:
        return {"name": name, "backend": backend}
    return {"name": name, **spec.to_dict()}


def _say(message: str) -> None:
    from rich.console import Console

    Console(stderr=True).print(message)


def _setting(benchmark: str, n_shot: int | None, chat: bool) -> Any:
    from harness.verify.claims import Setting, default_setting
    from harness.verify.tasks import effective_shots

    base = default_setting(benchmark).to_dict()
    if chat:
        base["chat_template"] = True
    if n_shot is not None:
        base["n_shot"] = n_shot
    setting = Setting(**base)
    return Setting(**{**setting.to_dict(), "n_shot": effective_shots(benchmark, setting)})


def _measure(
    subject: Subject,
    bs: Any,
    twinset: TwinSet,
    options: Options,
    task_dir: Path,
    benchmark: str,
    with_scores: bool,
) -> tuple[Streams, dict[str, Any]]:
    """Every stream for one model on one set of items (originals and twins)."""
    from harness.contamination.scoring import score_version

    streams = Streams()
    extra: dict[str, Any] = {}
    versions = [twinset.original_set(bs)] + [twinset.version_set(bs, j) for j in range(twinset.k)]
    if with_scores:
        setting = _setting(benchmark, options.n_shot, subject.chat)
        columns, prompts = [], []
        for v, vbs in enumerate(versions):
            scored = score_version(
                subject.lm,
                vbs,
                setting,
                task_dir / f"version{v}",
                seed=options.seed,
                gen_kwargs=options.gen_kwargs,
                chat=setting.chat_template,
            )
            columns.append(scored.correct)
            prompts.append(scored.prompts)
            if v == 0:
                extra["lm_eval_yaml"] = scored.yaml_files
                extra["setting"] = setting.to_dict()
        streams.accuracy = np.array(columns, dtype=float).T
        extra["prompts"] = prompts
    if "likelihood" in options.tests and subject.probe.can_score_text:
        texts = [[item_text(benchmark, vbs.rows[i]) for vbs in versions] for i in range(len(twinset.rows))]
        m = likelihood_matrix(subject.probe, texts, with_tokens=True)
        streams.loglikelihood = m["loglikelihood"]
        streams.min_k_plus_plus = m.get("min_k_plus_plus")
        extra["likelihood_texts"] = texts
    if "completion" in options.tests and get_spec(benchmark).contamination.question_changes:
        # Multiple-choice twins leave the question unchanged, so only re-instantiated twins give a contrast.
        questions = [
            [question_text(benchmark, vbs.rows[i]) for vbs in versions] for i in range(len(twinset.rows))
        ]
        exact, fuzzy, examples = completion_matrix(subject.probe, questions)
        streams.completion, streams.completion_exact = fuzzy, exact
        extra["completion_examples"] = examples
    return streams, extra


def _benchmark(
    name: str, subject: Subject, ref: Subject | None, options: Options, out_dir: Path, progress: bool
) -> dict[str, Any]:
    from harness.data import load_benchmark

    bs = load_benchmark(name)
    all_twins = make_twins(bs, seed=options.seed, k=options.twins)
    n = sample_size(options.sample, name)
    rows = select_rows(all_twins.rows, n, options.seed, name)
    twinset = _subset(all_twins, rows)
    _write_twins(out_dir / "twins" / f"{name}.jsonl", bs, twinset)
    spec = get_spec(name).contamination
    with_scores = "scores" in options.tests and not spec.order_invariant_scoring
    notes: list[str] = []
    if "scores" in options.tests and spec.order_invariant_scoring:
        notes.append(
            f"{name}: lm-eval scores each option's text after the question, whatever the options' order, so "
            "reordered twins score exactly as the originals; only the memorisation tests apply"
        )
    if with_scores and not get_spec(name).generative and not subject.probe.can_score_text:
        with_scores = False  # multiple choice is scored by log-likelihood, which this backend does not give
        notes.append(
            f"{name}: the backend returns no log-likelihoods (a chat endpoint, or completions without "
            "--tokenizer), so only the completion test could run"
        )
    model_streams, extra = _measure(
        subject, bs, twinset, options, out_dir / "lm_eval_tasks" / name / "model", name, with_scores
    )

    calibration = Calibration(kind=None)
    if ref is not None:
        key = _reference_key(ref, bs, twinset, options, with_scores)
        if key is not None and key in _REFERENCE_CACHE:
            ref_streams = _REFERENCE_CACHE[key]
        else:
            ref_streams, _ = _measure(
                ref, bs, twinset, options, out_dir / "lm_eval_tasks" / name / "reference", name, with_scores
            )
            if key is not None:
                _REFERENCE_CACHE.clear()  # one entry: the common case is one reference, several models
                _REFERENCE_CACHE[key] = ref_streams
        calibration = Calibration(kind="reference", reference=ref_streams)
    use_control = options.control if options.control is not None else ref is None
    control_info: dict[str, Any] | None = None
    if use_control and spec.control_split is not None:
        control_bs = load_benchmark(name, spec.control_split)
        # Twins for a seeded oversample of the control split only (it can be 7k items); coverage of
        # the control split is reported over that oversample.
        pool = select_rows(
            list(range(len(control_bs))), 3 * len(rows) + 20, options.seed, name, salt="control-pool"
        )
        control_all = make_twins(control_bs, seed=options.seed, k=options.twins, rows=pool)
        control_rows = select_rows(control_all.rows, len(rows), options.seed, name, salt="control")
        control_set = _subset(control_all, control_rows)
        control_streams, _ = _measure(
            subject,
            control_bs,
            control_set,
            options,
            out_dir / "lm_eval_tasks" / name / "control",
            name,
            with_scores,
        )
        control_info = {
            "split": control_bs.split,
            "items": len(control_rows),
            "coverage": control_all.coverage(),
        }
        if calibration.kind is None:
            calibration = Calibration(kind="control", control=control_streams)
        else:
            calibration.control = control_streams
    elif use_control and options.control:
        notes.append(f"{name}: no control split is available; calibrated by {calibration.kind or 'nothing'}")
    if calibration.kind is None and spec.twins == "reorder":
        calibration = Calibration(kind="option order")

    item_ids = [bs.items[r].item_id for r in twinset.rows]
    section: dict[str, Any] = {
        "title": name,
        "split": bs.split,
        "items_in_copy": len(bs),
        "partial": not bs.source.complete,
        "content_sha256": bs.content_sha256,
        "twins": {**all_twins.coverage(), "per_item": options.twins, "seed": options.seed},
        "sample": {"requested": n, "tested": len(rows)},
        "control": control_info,
        "calibration": calibration.kind,
        "notes": notes,
    }
    if model_streams.accuracy is not None:
        section["scores"] = accuracy_summary(model_streams.accuracy, options.alpha, options.seed)
        section["scores"]["setting"] = extra.get("setting")
        if calibration.reference is not None and calibration.reference.accuracy is not None:
            section["reference_scores"] = accuracy_summary(
                calibration.reference.accuracy, options.alpha, options.seed
            )
        if calibration.control is not None and calibration.control.accuracy is not None:
            section["control_scores"] = accuracy_summary(
                calibration.control.accuracy, options.alpha, options.seed
            )
    inflation = inflation_estimate(model_streams, calibration, options.alpha, options.seed)
    section["inflation"] = inflation
    section["memorisation"] = _memorisation_section(model_streams, calibration, extra, options)
    if "order" in options.tests and subject.probe.can_score_text:
        texts = [item_text(name, row) for row in bs.rows]
        section["memorisation"]["test_set_order"] = order_test(
            subject.probe,
            texts,
            shard_size=options.order_shard_size,
            shards=options.order_shards,
            shuffles=options.order_shuffles,
            rng=np.random.default_rng(options.seed),
        )
    try:
        test, item_scores, scales, mask = combined_test(
            model_streams, calibration, alpha=options.alpha, seed=options.seed
        )
    except ValueError as exc:
        section.update(
            verdict="inconclusive", verdict_detail={"label": "inconclusive", "reasons": [str(exc)]}
        )
        section["top_items"] = []
        return section
    verdict = decide(
        test, calibration.kind, inflation, alpha=options.alpha, max_mde_points=options.max_mde_points
    )
    control_test = None
    if calibration.kind == "reference" and calibration.control is not None:  # both given: report the second
        ctest, _, _, _ = combined_test(
            model_streams,
            Calibration("control", control=calibration.control),
            alpha=options.alpha,
            seed=options.seed,
        )
        control_test = ctest.to_dict()
    uncal = None
    if calibration.kind in ("reference", "control"):
        uncal_test, _, _, _ = combined_test(
            model_streams, Calibration(kind=None), alpha=options.alpha, seed=options.seed
        )
        uncal = uncal_test.to_dict()
    items = ranked_items(item_ids, item_scores, mask, model_streams)
    section.update(
        {
            "test": {**test.to_dict(), "stream_scales": {k: round(v, 6) for k, v in scales.items()}},
            "uncalibrated_test": uncal,
            "control_test": control_test,
            "p_value": test.p_value,
            "verdict": verdict["label"],
            "verdict_detail": verdict,
            "top_items": [r["item_id"] for r in items if r["score"] is not None and r["score"] > 0][
                :TOP_ITEMS
            ],
            "items": items,
            "examples": _examples(items, item_ids, extra),
        }
    )
    if control_info is not None and calibration.kind == "control":
        section["verdict_detail"]["reasons"].append(
            f"calibrated against {control_info['items']} {control_info['split']}-split items: a model trained on "
            "that split is only harder to flag; one that saw both splits would be missed"
        )
    return section


_REFERENCE_CACHE: dict[tuple, Streams] = {}


def _reference_key(ref: Subject, bs: Any, ts: TwinSet, options: Options, with_scores: bool) -> tuple | None:
    """What the reference's scores depend on: its weights (checksum), the items, their twins, the tests
    and the generation settings. A reference without a weights checksum is never reused."""
    revision = (getattr(ref.spec, "identity", None) or {}).get("revision") if ref.spec is not None else None
    if not revision:
        return None
    return (
        revision,
        bs.benchmark,
        bs.content_sha256,
        ts.seed,
        ts.k,
        tuple(ts.rows),
        options.tests,
        with_scores,
        options.n_shot,
        orjson.dumps(options.gen_kwargs, option=orjson.OPT_SORT_KEYS),
        options.seed,
    )


def _subset(ts: TwinSet, rows: list[int]) -> TwinSet:
    index = {r: i for i, r in enumerate(ts.rows)}
    keep = [index[r] for r in rows]
    return TwinSet(
        ts.benchmark,
        ts.seed,
        ts.k,
        [ts.rows[i] for i in keep],
        [[ts.versions[j][i] for i in keep] for j in range(ts.k)],
        [ts.details[i] for i in keep],
        considered=ts.considered,
        excluded=ts.excluded,
        excluded_examples=ts.excluded_examples,
    )


def _write_twins(path: Path, bs: Any, ts: TwinSet) -> None:
    """The tested items' twins, one JSON line per item, for a reviewer (in the run folder only)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as fh:
        for i, r in enumerate(ts.rows):
            line = {
                "item_id": bs.items[r].item_id,
                "original": bs.rows[r],
                "twins": [ts.versions[j][i] for j in range(ts.k)],
                **ts.details[i],
            }
            fh.write(orjson.dumps(line, option=orjson.OPT_SORT_KEYS, default=str) + b"\n")


def _memorisation_section(
    model: Streams, calibration: Calibration, extra: dict[str, Any], options: Options
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "tests": stream_tests(model, alpha=options.alpha, seed=options.seed, label="original vs twins")
    }
    if calibration.kind == "reference" and calibration.reference is not None:
        from harness.contamination.analysis import _minus

        out["tests_minus_reference"] = stream_tests(
            _minus(model, calibration.reference),
            alpha=options.alpha,
            seed=options.seed,
            label="model minus reference",
        )
    if model.loglikelihood is not None:
        llr = model.loglikelihood[:, 0] - model.loglikelihood[:, 1:].mean(axis=1)
        out["loglikelihood_ratio"] = {
            "mean_nats": float(llr.mean()),
            "share_original_most_likely": float(
                np.mean(model.loglikelihood[:, 0] > model.loglikelihood[:, 1:].max(axis=1))
            ),
        }
    if model.completion is not None and np.isfinite(model.completion).any():
        rows = np.all(np.isfinite(model.completion), axis=1)
        reference = calibration.reference
        if reference is not None and reference.completion is not None:
            out["completion_reference"] = {
                "exact_rate_original": float(np.nanmean(reference.completion_exact[rows, 0]))
                if rows.any()
                else None,
                "fuzzy_mean_original": float(np.nanmean(reference.completion[rows, 0]))
                if rows.any()
                else None,
            }
        out["completion"] = {
            "items": int(rows.sum()),
            "exact_rate_original": float(np.nanmean(model.completion_exact[rows, 0])) if rows.any() else None,
            "exact_rate_twins": float(np.nanmean(model.completion_exact[rows, 1:])) if rows.any() else None,
            "fuzzy_mean_original": float(np.nanmean(model.completion[rows, 0])) if rows.any() else None,
            "fuzzy_mean_twins": float(np.nanmean(model.completion[rows, 1:])) if rows.any() else None,
        }
    if model.min_k_plus_plus is not None:
        out["min_k_plus_plus_note"] = "weak signal (Zhang et al. 2024); reported, never decides the verdict"
    return out


def _examples(
    items: list[dict[str, Any]], item_ids: list[str], extra: dict[str, Any]
) -> list[dict[str, Any]]:
    """Exact inputs behind the top items: the likelihood texts, the lm-eval prompt and the completion."""
    position = {item_id: i for i, item_id in enumerate(item_ids)}
    completions = {e["row"]: e for e in extra.get("completion_examples", [])}
    out = []
    for row in items[:5]:
        i = position[row["item_id"]]
        example: dict[str, Any] = {"item_id": row["item_id"]}
        if "likelihood_texts" in extra:
            example["original_text"] = extra["likelihood_texts"][i][0]
            example["twin_texts"] = extra["likelihood_texts"][i][1:]
        if "prompts" in extra:
            example["lm_eval_prompt_original"] = extra["prompts"][0][i]
        if i in completions:
            example["completion"] = {k: v for k, v in completions[i].items() if k != "row"}
        out.append(example)
    return out


def _headline(sections: dict[str, Any]) -> str:
    parts = []
    for name, s in sections.items():
        text = f"{name}: {s['verdict']}"
        if s.get("p_value") is not None:
            text += f" (p={s['p_value']:.3g}"
            inflation = s.get("inflation")
            if inflation and inflation.get("points") is not None:
                text += f", inflation {inflation['points']:.1f} points"
            text += ")"
        parts.append(text)
    return "; ".join(parts) + "."
