"""`run_verify`: run the claimed benchmarks through lm-eval, measure, and judge each claim.

The model is built once (lm-eval's own model classes, via `harness.models.backends`) and each
benchmark is evaluated with `lm_eval.evaluator.simple_evaluate` in the setting its claim states, on
task configs that read the data layer's local copies (`harness.verify.tasks`). Per-item samples are
mapped back to our item ids (`harness.verify.records`); the statistics and verdicts come from
`harness.verify.statistics` / `ceilings` / `verdict`. Everything a reader needs to trust or replay
the numbers goes into `verify.json`; wall-clock facts live under its `"timing"` key only.
"""

from __future__ import annotations

import hashlib
import logging
import math
import re
import time
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import orjson

from harness.data import BENCHMARKS, get_spec, load_benchmark
from harness.models.backends import BackendError, BackendSpec, api_key_environment, backend_spec
from harness.verify.claims import Claim, ClaimsFile, Setting, default_setting, load_claims
from harness.verify.records import build_records, write_records
from harness.verify.tasks import TaskPlan, prepare_task

SCHEMA_VERSION = "harness.verify/1"
FLAGGING_VERDICTS = ("below claim", "implausible")
_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")

log = logging.getLogger(__name__)


class VerifyError(ValueError):
    """The run cannot proceed as asked (bad combination of options, unusable leakage file...)."""


def package_versions() -> dict[str, str | None]:
    """Versions of the packages whose behaviour changes the numbers (None: not installed)."""
    out: dict[str, str | None] = {}
    for name in ("harness", "lm_eval", "transformers", "torch", "datasets", "vllm", "llama_cpp_python"):
        try:
            out[name] = version(name.replace("_", "-") if name == "llama_cpp_python" else name)
        except PackageNotFoundError:
            out[name] = None
    return out


def run_verify(
    *,
    model: str,
    backend: str,
    claims: Path | dict | None = None,
    benchmarks: list[str] | None = None,
    limit: int | None = None,
    seed: int = 1234,
    clean_from: Path | None = None,
    out_dir: Path,
    base_url: str | None = None,
    api_key_env: str | None = None,
    model_args: dict | None = None,
    progress: bool = True,
    gen_kwargs: dict | None = None,
) -> dict:
    """Verify claimed scores (or just measure, without claims); write verify.json/.md and items.parquet.

    Returns the dict written to verify.json. `limit` is lm-eval's: the first N documents of each
    lm-eval task, which for MMLU means N per subject. `gen_kwargs` overrides the tasks' generation
    settings (e.g. {"max_gen_toks": 64} to bound CPU time); it is recorded, and it changes the setting.
    """
    started = time.monotonic()
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if limit is not None and limit < 1:
        raise VerifyError(f"--limit must be a positive number of items, got {limit}")

    claims_file: ClaimsFile | None = load_claims(claims) if claims is not None else None
    names = _benchmark_names(benchmarks, claims_file)
    spec = backend_spec(backend, model, base_url=base_url, model_args=model_args, seed=seed)
    settings = {name: _setting_for(name, claims_file, spec) for name in names}
    _check_backend_can_run(spec, names)
    dirty_ids, leakage_info = _read_leakage(clean_from) if clean_from is not None else (None, None)

    task_dir = out_dir / "lm_eval_tasks"
    data = {name: load_benchmark(name) for name in names}
    plans = {name: prepare_task(data[name], settings[name], task_dir) for name in names}

    from lm_eval import evaluator
    from lm_eval.api.registry import get_model
    from lm_eval.tasks import TaskManager

    sections: dict[str, Any] = {}
    all_records: list[dict[str, Any]] = []
    durations: dict[str, float] = {}
    with api_key_environment(api_key_env):
        t0 = time.monotonic()
        lm = get_model(spec.lm_eval_model).create_from_arg_obj(dict(spec.model_args))
        durations["model_load_s"] = round(time.monotonic() - t0, 3)
        task_manager = TaskManager(include_path=str(task_dir), include_defaults=False)
        for name in names:
            setting, plan = settings[name], plans[name]
            if progress:
                _say(f"[bold]{name}[/]: lm-eval task {plan.request}, {plan.num_fewshot}-shot, limit {limit}")
            t0 = time.monotonic()
            result = evaluator.simple_evaluate(
                model=lm,
                tasks=[plan.request],
                num_fewshot=plan.num_fewshot,
                limit=limit,
                task_manager=task_manager,
                log_samples=True,
                bootstrap_iters=0,  # our own intervals below; lm-eval's bootstrap would only cost time
                apply_chat_template=setting.chat_template,
                fewshot_as_multiturn=setting.chat_template and plan.num_fewshot > 0,
                gen_kwargs=dict(gen_kwargs) if gen_kwargs else None,
                random_seed=seed,
                numpy_random_seed=seed,
                torch_random_seed=seed,
                fewshot_random_seed=seed,
            )
            durations[f"{name}_s"] = round(time.monotonic() - t0, 3)
            if result is None:  # only on non-zero ranks of a distributed run
                raise VerifyError("lm-eval returned no results (distributed worker?)")
            records = build_records(data[name], result["samples"], plan.doc_rows, plan.subjects, setting.metric_key)
            all_records.extend(records)
            claim = claims_file.get(name) if claims_file else None
            sections[name] = _benchmark_section(
                name, data[name], setting, plan, claim, records, result, limit, dirty_ids
            )

    write_records(out_dir / "items.parquet", all_records)
    report = {
        "schema": SCHEMA_VERSION,
        "status": "clean",
        "headline": "",
        "versions": package_versions(),
        "model": {"name": model, **spec.to_dict()},
        "claims": claims_file.to_dict() if claims_file else None,
        "settings": {
            "benchmarks": names,
            "seed": seed,
            "limit": limit,
            "limit_semantics": "first N documents of each lm-eval task (MMLU: per subject)",
            "gen_kwargs": dict(gen_kwargs) if gen_kwargs else None,
            "clean_from": leakage_info,
            "files": {"items": "items.parquet", "markdown": "verify.md", "lm_eval_tasks": "lm_eval_tasks/"},
        },
        "benchmarks": sections,
    }
    report["status"], report["headline"] = _status_and_headline(sections, claims_file is not None)
    report["timing"] = {
        "started_at": started_at,
        "total_s": round(time.monotonic() - started, 3),
        **durations,
    }
    from harness.verify.summary import render_markdown

    (out_dir / "verify.json").write_bytes(orjson.dumps(report, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS))
    (out_dir / "verify.md").write_text(render_markdown(report), encoding="utf-8")
    return orjson.loads(orjson.dumps(report))


def _say(message: str) -> None:
    from rich.console import Console

    Console(stderr=True).print(message)


def _benchmark_names(benchmarks: list[str] | None, claims_file: ClaimsFile | None) -> list[str]:
    if benchmarks:
        names = list(dict.fromkeys(benchmarks))
    elif claims_file is not None:
        names = [c.benchmark for c in claims_file.claims]
    else:
        raise VerifyError("nothing to run: give --claims FILE and/or --benchmarks NAME...")
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        raise VerifyError(f"unknown benchmark(s) {unknown}; known: {', '.join(BENCHMARKS)}")
    return names


def _setting_for(name: str, claims_file: ClaimsFile | None, spec: BackendSpec) -> Setting:
    claim = claims_file.get(name) if claims_file else None
    setting = claim.setting if claim else default_setting(name)
    if spec.chat_only and not setting.chat_template:
        # A chat endpoint applies its chat template to every request; record that truthfully.
        setting = Setting(**{**setting.to_dict(), "chat_template": True})
    return setting


def _check_backend_can_run(spec: BackendSpec, names: list[str]) -> None:
    mc = [n for n in names if get_spec(n).kind == "multiple_choice"]
    if mc and not spec.loglikelihood:
        if spec.chat_only:
            raise BackendError(
                f"{', '.join(mc)}: multiple-choice benchmarks are scored by log-likelihood, which chat "
                "endpoints do not return; use --backend openai-completions on the same server (its "
                "/v1/completions route), or run only gsm8k on openai-chat"
            )
        raise BackendError(
            f"{', '.join(mc)}: scoring multiple-choice benchmarks on an endpoint needs the served model's "
            "tokenizer to find where each answer starts: pass --model-arg tokenizer=PATH_OR_NAME "
            "(or tokenizer_backend=remote for servers that expose one, such as vLLM)"
        )


def _read_leakage(path: Path) -> tuple[set[str], dict[str, Any]]:
    """Dirty item ids from a `harness scan` leakage.json (every other item counts as clean)."""
    path = Path(path)
    try:
        raw = path.read_bytes()
        doc = orjson.loads(raw)
    except FileNotFoundError:
        raise VerifyError(f"--clean-from {path}: file not found") from None
    except orjson.JSONDecodeError as exc:
        raise VerifyError(f"--clean-from {path}: not valid JSON ({exc})") from None
    items = doc.get("items") if isinstance(doc, dict) else None
    if not isinstance(items, list):
        raise VerifyError(f"--clean-from {path}: no 'items' list (is it a harness scan leakage.json?)")
    dirty: set[str] = set()
    for index, item in enumerate(items):
        if not isinstance(item, dict) or "item_id" not in item or "dirty" not in item:
            raise VerifyError(f"--clean-from {path}: items[{index}] lacks 'item_id' or 'dirty'")
        if item["dirty"]:
            dirty.add(str(item["item_id"]))
    info = {"path": str(path.resolve()), "sha256": hashlib.sha256(raw).hexdigest(), "dirty_items": len(dirty)}
    return dirty, info


def _sanitize(value: Any) -> Any:
    """lm-eval results as plain JSON: NaN/inf to None, no memory addresses."""
    if isinstance(value, dict):
        return {str(k): _sanitize(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_sanitize(v) for v in value]
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, str | int | bool) or value is None:
        return value
    return _ADDRESS.sub("", str(value))


def _benchmark_section(
    name: str,
    bs: Any,
    setting: Setting,
    plan: TaskPlan,
    claim: Claim | None,
    records: list[dict[str, Any]],
    result: dict[str, Any],
    limit: int | None,
    dirty_ids: set[str] | None,
) -> dict[str, Any]:
    from harness.verify.ceilings import label_error_ceiling, no_ceiling_reason
    from harness.verify.statistics import compare_subsets, measure, test_claim

    correct = [r["correct"] for r in records]
    clusters = [r["subject"] for r in records] if name == "mmlu" else None
    measurement = measure(correct, clusters=clusters)
    lm_eval_value = result["results"].get(plan.request, {}).get(setting.metric_key)
    if lm_eval_value is not None and abs(lm_eval_value - measurement.score) > 1e-9:
        raise VerifyError(
            f"{name}: per-item records give {measurement.score:.6f} but lm-eval reports {lm_eval_value:.6f} "
            f"for {setting.metric_key}; refusing to report inconsistent numbers"
        )
    ceiling = label_error_ceiling(name)
    section: dict[str, Any] = {
        "title": get_spec(name).title,
        "setting": setting.to_dict(),
        "metric_key": setting.metric_key,
        "data": {
            "split": bs.split,
            "items_in_copy": len(bs),
            "items_scored": len(records),
            "complete": bs.source.complete,
            "partial_note": None if bs.source.complete else (bs.source.note or "partial copy of the test set"),
            "limited": limit is not None and len(records) < len(bs),
            "content_sha256": bs.content_sha256,
            "source": bs.source.to_dict(),
        },
        "lm_eval": {
            **plan.to_dict(),
            "results": _sanitize({t: result["results"][t] for t in sorted(result["results"])}),
            "n_samples": _sanitize(result.get("n-samples", {})),
            "configs": _sanitize({t: result["configs"][t] for t in sorted(result.get("configs", {}))}),
        },
        "lm_eval_score": lm_eval_value,
        "measurement": measurement.to_dict(),
        "ceiling": ceiling.to_dict() if ceiling else None,
        "ceiling_note": None if ceiling else no_ceiling_reason(name),
        "claim": claim.to_dict() if claim else None,
        "claim_test": None,
        "verdict": None,
        "contamination": None,
    }
    if claim is not None:
        from harness.verify.verdict import judge_claim

        claim_test = test_claim(measurement, claim.value / 100.0)
        verdict = judge_claim(name, claim.value / 100.0, measurement, ceiling, claim_test)
        section["claim_test"] = claim_test.to_dict()
        section["verdict"] = _to_plain(verdict)
    if dirty_ids is not None:
        section["contamination"] = _contamination(name, records, correct, clusters, dirty_ids, compare_subsets)
    return section


def _to_plain(obj: Any) -> Any:
    if hasattr(obj, "to_dict"):
        return obj.to_dict()
    from dataclasses import asdict, is_dataclass

    if is_dataclass(obj) and not isinstance(obj, type):
        return asdict(obj)
    return obj


def _contamination(
    name: str,
    records: list[dict[str, Any]],
    correct: list[float],
    clusters: list[str] | None,
    dirty_ids: set[str],
    compare_subsets: Any,
) -> dict[str, Any]:
    """Clean-versus-dirty accuracy: the clean score is the contamination-adjusted one."""
    ids = [r["item_id"] for r in records]
    clean_mask = [i not in dirty_ids for i in ids]
    n_dirty = clean_mask.count(False)
    prefix = f"{name}/"
    dirty_for_benchmark = {i for i in dirty_ids if i.startswith(prefix)}
    out: dict[str, Any] = {
        "dirty_ids_for_benchmark": len(dirty_for_benchmark),
        "dirty_items_scored": n_dirty,
        "clean_items_scored": len(ids) - n_dirty,
        "dirty_not_scored": len(dirty_for_benchmark - set(ids)),
        "difference_test": None,
        "note": "",
    }
    if n_dirty == 0:
        out["note"] = "no scored item is flagged dirty: the measured score is already the clean score"
    elif n_dirty == len(ids):
        out["note"] = "every scored item is flagged dirty: no clean score can be given"
    else:
        out["difference_test"] = compare_subsets(correct, clean_mask, clusters=clusters).to_dict()
        out["note"] = "difference = dirty - clean accuracy; the clean accuracy is the contamination-adjusted score"
    return out


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.1f}%"


def _status_and_headline(sections: dict[str, Any], has_claims: bool) -> tuple[str, str]:
    parts = []
    flagged = False
    for name, sec in sections.items():
        m = sec["measurement"]
        measured = f"{_pct(m['score'])} [{_pct(m['ci_low'])}, {_pct(m['ci_high'])}], n={m['n']}"
        verdict = sec.get("verdict")
        if sec["claim"] is not None and verdict is not None:
            label = verdict.get("label")
            flagged = flagged or label in FLAGGING_VERDICTS
            parts.append(f"{name} claimed {sec['claim']['value']:g}% is {label} (measured {measured})")
        else:
            parts.append(f"{name} measured {measured}")
        if not sec["data"]["complete"]:
            parts[-1] += " on a partial test set"
    if not has_claims:
        return "clean", "No claims given; measured " + "; ".join(parts) + "."
    return ("flagged" if flagged else "clean"), "; ".join(parts) + "."
