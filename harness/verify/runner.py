"""`run_verify`: run the claimed benchmarks through lm-eval, measure, and judge each claim.

The model is built once (lm-eval's own model classes, via `harness.models.backends`) and each
benchmark is evaluated with `lm_eval.evaluator.simple_evaluate` in the setting its claim states, on
task configs that read the data layer's local copies (`harness.verify.tasks`). Per-item samples are
mapped back to our item ids (`harness.verify.records`); the statistics and verdicts come from
`harness.verify.statistics` / `ceilings` / `verdict`. Everything a reader needs to trust or replay
the numbers goes into `verify.json`; wall-clock facts live under its `"timing"` key only, and paths
inside the output folder are written relative to it, so equal inputs give byte-equal JSON.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import re
import shutil
import time
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from harness.data import BENCHMARKS, DataError, get_spec, load_benchmark
from harness.data.items import BenchmarkSet
from harness.models.backends import (
    BackendError,
    BackendSpec,
    api_key_environment,
    backend_spec,
    endpoint_models,
    require_api_key,
)
from harness.records.files import atomic_write_text, json_safe, package_versions, sha256_bytes
from harness.records.formatting import percent
from harness.records.verify import SCHEMA, SCHEMA_VERSION
from harness.verify.claims import Claim, ClaimsFile, Setting, default_setting, load_claims
from harness.verify.records import build_records, write_records
from harness.verify.sections import (
    compare_claim_setting,
    judge_sections,
    measure_records,
    plausibility_section,
    status_and_headline,
    truncation_of,
)
from harness.verify.tasks import TaskConfigError, TaskPlan, effective_shots, prepare_task

FLAGGING_VERDICTS = ("below claim", "implausible")
DEFAULT_SEED = 1234
_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")

log = logging.getLogger(__name__)


class VerifyError(ValueError):
    """The run cannot proceed as asked (bad combination of options, unusable leakage file, a model or
    endpoint that fails); the message says what to change."""


def run_verify(
    *,
    model: str | None = None,
    backend: str | None = None,
    out_dir: Path,
    claims: Path | str | dict | None = None,
    benchmarks: list[str] | None = None,
    limit: int | None = None,
    sample: int | Mapping[str, int] | None = None,
    seed: int = DEFAULT_SEED,
    clean_from: Path | None = None,
    base_url: str | None = None,
    api_key_env: str | None = None,
    model_args: dict | None = None,
    gen_kwargs: dict | None = None,
    progress: bool = True,
    plausibility_only: bool = False,
    resume: bool = False,
) -> dict:
    """Verify claimed scores (or just measure, without claims); write verify.json/.md and items.parquet.

    Returns the dict written to verify.json; its "status" is one of the exit-code table's (clean,
    flagged, unresolved) with a "headline". `limit` is lm-eval's: the first N documents of each lm-eval
    task, which for MMLU means N per subject. `sample` instead scores a seeded uniform random sample of
    N items per benchmark, nested in N (the first N of one seeded permutation, so a larger sample
    contains the smaller one and the anytime-valid tests stay valid however the sample grows); a
    mapping gives N per benchmark, with "default" for the others.
    `gen_kwargs` overrides the tasks' generation settings (e.g. {"max_gen_toks": 64} to bound CPU
    time); it is recorded, and the verdict counts it as a setting the claim was not made under.
    `plausibility_only` judges the claims against the label-error ceilings without any model.
    `resume` continues an interrupted run into the same `out_dir` from lm-eval's request cache there.
    Raises VerifyError, ClaimsError or BackendError (all ValueError) for bad input or a failed run.
    """
    started = time.monotonic()
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    out_dir = Path(out_dir)
    if plausibility_only:
        return _plausibility_only(out_dir, claims, benchmarks, started, started_at)
    if not model or not backend:
        raise VerifyError(
            "give --model and --backend (or --plausibility-only to check claims without a model)"
        )
    samples = sample if isinstance(sample, Mapping) else {"default": sample}
    for name, value in (("limit", limit), *((f"sample {k}", v) for k, v in samples.items())):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise VerifyError(f"--{name} must be a positive number of items, got {value!r}")
    if limit is not None and any(v is not None for v in samples.values()):
        raise VerifyError("give --limit (first N items) or --sample (N random items), not both")

    claims_file: ClaimsFile | None = load_claims(claims) if claims is not None else None
    names = _benchmark_names(benchmarks, claims_file)
    unknown = sorted(set(samples) - {"default", *names})
    if unknown:
        raise VerifyError(
            f"sample sizes given for {unknown}, which this run does not score ({', '.join(names)})"
        )
    spec = backend_spec(backend, model, base_url=base_url, model_args=model_args, seed=seed)
    require_api_key(api_key_env)
    settings = {name: _setting_for(name, claims_file, spec) for name in names}
    forced = {name: _forced_differences(name, claims_file, spec) for name in names}
    _check_backend_can_run(spec, names)
    dirty_ids, leakage_info = _read_leakage(clean_from) if clean_from is not None else (None, None)
    run_gen_kwargs = _generation_kwargs(gen_kwargs, settings)

    out_dir.mkdir(parents=True, exist_ok=True)
    task_dir = out_dir / "lm_eval_tasks"
    if task_dir.exists():  # ours, from an earlier run into the same folder: never mix its task files in
        shutil.rmtree(task_dir)
    cache_path, cached_at_start = _request_cache(out_dir, spec, resume)
    data: dict[str, BenchmarkSet] = {}
    plans: dict[str, TaskPlan] = {}
    selections: dict[str, dict[str, Any]] = {}
    for name in names:
        try:
            data[name] = load_benchmark(name)
            rows, selections[name] = _select_rows(
                data[name], limit, samples.get(name, samples.get("default")), seed
            )
            plans[name] = prepare_task(data[name], settings[name], task_dir, rows=rows)
        except (DataError, TaskConfigError) as exc:
            raise VerifyError(f"{name}: {exc}") from exc

    sections: dict[str, Any] = {}
    measurements: dict[str, Any] = {}
    truncations: dict[str, Any] = {}
    all_records: list[dict[str, Any]] = []
    durations: dict[str, float] = {}
    identity = dict(spec.identity)
    with api_key_environment(api_key_env), _quiet(not progress):
        if spec.lm_eval_model.startswith("local-"):
            identity["served_models"] = endpoint_models(spec.model_args["base_url"], api_key_env)
        t0 = time.monotonic()
        lm = _build_model(spec)
        durations["model_load_s"] = round(time.monotonic() - t0, 3)
        count_tokens = _token_counter(lm)
        max_gen_toks = (run_gen_kwargs or {}).get("max_gen_toks") or _backend_max_gen_toks(lm)

        from lm_eval import evaluator
        from lm_eval.tasks import TaskManager

        task_manager = TaskManager(include_path=str(task_dir), include_defaults=False)
        # One lm-eval call per chat-template setting (the only per-benchmark option lm-eval takes per
        # call; shot counts are in the task files): lm-eval's fixed cost per call is seconds.
        for chat in sorted({settings[n].chat_template for n in names}):
            group = [n for n in names if settings[n].chat_template == chat]
            if progress:
                for name in group:
                    _say(
                        f"[bold]{name}[/]: lm-eval task {plans[name].request}, {plans[name].num_fewshot}-shot"
                        f"{', chat template' if chat else ''}, {selections[name]['description']}"
                    )
            t0 = time.monotonic()
            try:
                result = evaluator.simple_evaluate(
                    model=lm,
                    tasks=[plans[n].request for n in group],
                    num_fewshot=None,  # each task file carries its own (tasks.prepare_task)
                    limit=None,  # the selection is already in the task's data files (_select_rows)
                    task_manager=task_manager,
                    log_samples=True,
                    bootstrap_iters=0,  # our own intervals below; lm-eval's bootstrap would only cost time
                    apply_chat_template=chat,
                    fewshot_as_multiturn=chat and any(plans[n].num_fewshot > 0 for n in group),
                    gen_kwargs=dict(run_gen_kwargs) if run_gen_kwargs else None,
                    use_cache=str(cache_path),
                    random_seed=seed,
                    numpy_random_seed=seed,
                    torch_random_seed=seed,
                    fewshot_random_seed=seed,
                )
            except Exception as exc:
                raise VerifyError(_describe_failure(", ".join(group), spec, exc)) from exc
            durations["lm_eval_chat_s" if chat else "lm_eval_s"] = round(time.monotonic() - t0, 3)
            if result is None:  # only on non-zero ranks of a distributed run
                raise VerifyError("lm-eval returned no results (distributed worker?)")
            for name in group:
                setting, plan = settings[name], plans[name]
                records = build_records(
                    data[name],
                    result["samples"],
                    plan.doc_rows,
                    plan.subjects,
                    setting.metric_key,
                    count_tokens=count_tokens,
                )
                claim = claims_file.get(name) if claims_file else None
                sections[name], measurements[name], truncations[name] = _benchmark_section(
                    name,
                    data[name],
                    setting,
                    plan,
                    claim,
                    records,
                    result,
                    selections[name],
                    run_gen_kwargs if gen_kwargs else None,
                    dirty_ids,
                    max_gen_toks=max_gen_toks,
                    tokenizer=count_tokens is not None,
                    forced=forced[name],
                )
                mark_incomplete_scan(sections[name], leakage_info)
                all_records.extend(records)
    sections = {name: sections[name] for name in names}
    all_records.sort(key=lambda r: names.index(r["benchmark"]))
    family = judge_sections(sections, claims_file, measurements, truncations)

    write_records(out_dir / "items.parquet", all_records)
    claims_not_run = (
        sorted(c.benchmark for c in claims_file.claims if c.benchmark not in names) if claims_file else []
    )
    report: dict[str, Any] = {
        "schema": SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "status": "clean",
        "headline": "",
        "mode": "measured",
        "versions": package_versions(),
        "model": {"name": model, **spec.to_dict(), "identity": identity},
        "claims": claims_file.to_dict() if claims_file else None,
        "settings": {
            "benchmarks": names,
            "seed": seed,
            "limit": limit,
            "sample": sample,
            "limit_semantics": "first N items of each benchmark (MMLU: of each subject), as lm-eval's --limit",
            "sample_semantics": "the first N items of one seeded permutation per benchmark (nested in N)",
            "gen_kwargs": dict(run_gen_kwargs) if run_gen_kwargs else None,
            "max_gen_toks": max_gen_toks,
            "api_key_env": api_key_env,  # the variable's name only; its value is never recorded
            "clean_from": leakage_info,
            "claims_not_run": claims_not_run,
            "request_cache": "lm_eval_cache/",
            "files": {"items": "items.parquet", "markdown": "verify.md", "lm_eval_tasks": "lm_eval_tasks/"},
        },
        "family": family,
        "benchmarks": sections,
    }
    report["status"], report["headline"] = status_and_headline(
        sections, claims_file is not None, claims_not_run
    )
    report = _relocate(_sanitize(report), out_dir)
    report["timing"] = {
        "started_at": started_at,
        "total_s": round(time.monotonic() - started, 3),
        "resume": {"requested": resume, "cached_requests_at_start": cached_at_start},
        **durations,
    }
    _write_outputs(out_dir, report)
    return report


def _write_outputs(out_dir: Path, report: dict[str, Any]) -> None:
    """verify.json, validated against ``VerifyRecord`` as it is written, then verify.md rendered from it."""
    from harness.records.verify import write_verify_record
    from harness.verify.summary import render_markdown

    write_verify_record(out_dir / "verify.json", report)
    atomic_write_text(out_dir / "verify.md", render_markdown(report))


def _plausibility_only(
    out_dir: Path,
    claims: Path | str | dict | None,
    benchmarks: list[str] | None,
    started: float,
    started_at: str,
) -> dict:
    """Judge the claims against the label-error ceilings alone: no model, no data, seconds."""
    if claims is None:
        raise VerifyError("--plausibility-only needs --claims FILE: it checks claimed numbers, not a model")
    claims_file = load_claims(claims)
    names = _benchmark_names(benchmarks, claims_file)
    claimed = [n for n in names if claims_file.get(n) is not None]
    if not claimed:
        raise VerifyError(f"--plausibility-only: the claims file claims none of {', '.join(names)}")
    sections = {n: plausibility_section(n, claims_file.get(n)) for n in claimed}  # type: ignore[arg-type]
    family = judge_sections(sections, claims_file, {}, {})
    claims_not_run = sorted(c.benchmark for c in claims_file.claims if c.benchmark not in claimed)
    out_dir.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {
        "schema": SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "status": "clean",
        "headline": "",
        "mode": "plausibility-only",
        "versions": package_versions(),
        "model": None,
        "claims": claims_file.to_dict(),
        "settings": {
            "benchmarks": claimed,
            "seed": None,
            "limit": None,
            "sample": None,
            "gen_kwargs": None,
            "claims_not_run": claims_not_run,
            "files": {"items": None, "markdown": "verify.md", "lm_eval_tasks": None},
        },
        "family": family,
        "benchmarks": sections,
    }
    report["status"], report["headline"] = status_and_headline(sections, True, claims_not_run)
    report = _sanitize(report)
    report["timing"] = {"started_at": started_at, "total_s": round(time.monotonic() - started, 3)}
    _write_outputs(out_dir, report)
    return report


def _request_cache(out_dir: Path, spec: BackendSpec, resume: bool) -> tuple[Path, int | None]:
    """lm-eval's request cache (CachingLM, sqlite) for this model under the output folder.

    Keyed by the model (backend, model arguments, weights identity): lm-eval's own cache key is the
    request alone, so one file per model keeps another model's answers out. Without ``resume`` the
    folder is emptied first (a fresh run starts from zero); with it, every request already answered
    is served from the cache, so an interrupted run continues where it stopped.
    """
    root = out_dir / "lm_eval_cache"
    if not resume and root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True, exist_ok=True)
    key_source = orjson.dumps(
        {"spec": spec.to_dict()},
        option=orjson.OPT_SORT_KEYS,
        default=str,
    )
    stem = root / f"{spec.backend}-{sha256_bytes(key_source)[:16]}"
    db = Path(str(stem) + "_rank0.db")
    cached = None
    if resume:
        cached = _count_cached(db)
    return stem, cached


def _count_cached(db: Path) -> int:
    if not db.exists():
        return 0
    import sqlite3

    try:
        with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as con:
            return int(con.execute("SELECT COUNT(*) FROM unnamed").fetchone()[0])
    except sqlite3.Error:
        return 0


def _token_counter(lm: Any) -> Any:
    """A function counting a generation's tokens with the model's own tokenizer, or None."""
    tokenizer = getattr(lm, "tokenizer", None)
    encode = getattr(tokenizer, "encode", None)
    if encode is None:
        return None

    def count(text: str) -> int:
        try:
            return len(encode(text, add_special_tokens=False))
        except TypeError:
            return len(encode(text))

    return count


def _backend_max_gen_toks(lm: Any) -> int | None:
    for attr in ("max_gen_toks", "_max_gen_toks"):
        try:
            value = getattr(lm, attr)
        except Exception:
            continue
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return None


def _generation_kwargs(gen_kwargs: dict | None, settings: dict[str, Setting]) -> dict | None:
    """The run's generation overrides: the user's, else a generation cap that a claim states."""
    out = dict(gen_kwargs) if gen_kwargs else {}
    stated = [s.max_gen_toks for s in settings.values() if s.max_gen_toks is not None]
    if stated and "max_gen_toks" not in out:
        out["max_gen_toks"] = stated[0]
    return out or None


def _forced_differences(name: str, claims_file: ClaimsFile | None, spec: BackendSpec) -> list[str]:
    claim = claims_file.get(name) if claims_file else None
    if claim is not None and spec.chat_only and not claim.setting.chat_template:
        return [
            "the chat endpoint applies its chat template to every request; the claim was made without one"
        ]
    return []


def _say(message: str) -> None:
    from rich.console import Console

    Console(stderr=True).print(message)


@contextlib.contextmanager
def _quiet(enabled: bool) -> Iterator[None]:
    """Lower lm-eval's and datasets' info logging (tests, embedding callers); tqdm bars still show."""
    if not enabled:
        yield
        return
    loggers = [logging.getLogger(n) for n in ("lm_eval", "lm-eval", "datasets", "transformers")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.WARNING)
    try:
        yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


def _build_model(spec: BackendSpec) -> Any:
    """lm-eval's model object for the spec; failures name the backend and the model."""
    from lm_eval.api.registry import get_model

    try:
        cls = get_model(spec.lm_eval_model)
    except Exception as exc:
        hint = " (install the optional extra: pip install 'harness[vllm]')" if spec.backend == "vllm" else ""
        raise VerifyError(f"lm-eval has no usable '{spec.lm_eval_model}' model{hint}: {exc}") from exc
    try:
        return cls.create_from_arg_obj(dict(spec.model_args))
    except ImportError as exc:
        hint = " (pip install 'harness[vllm]' on a machine with a GPU)" if spec.backend == "vllm" else ""
        raise VerifyError(f"backend {spec.backend}: a required package is missing{hint}: {exc}") from exc
    except Exception as exc:
        what = spec.model_args.get("pretrained") or spec.model_args.get("model")
        raise VerifyError(
            f"backend {spec.backend}: could not load model {what!r}: {type(exc).__name__}: {exc}"
        ) from exc


def _describe_failure(name: str, spec: BackendSpec, exc: Exception) -> str:
    base = f"{name}: lm-eval failed on backend {spec.backend}: {type(exc).__name__}: {exc}"
    if spec.lm_eval_model.startswith("local-"):
        base += (
            f" (endpoint {spec.model_args.get('base_url')}; check the URL, the served model name "
            f"'{spec.model_args.get('model')}', and the key variable)"
        )
    return base


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
    """The claim's setting (or lm-eval's default), with the shot count made explicit."""
    claim = claims_file.get(name) if claims_file else None
    setting = claim.setting if claim else default_setting(name)
    fields = setting.to_dict()
    if spec.chat_only and not setting.chat_template:
        # A chat endpoint applies its chat template to every request; record that truthfully.
        fields["chat_template"] = True
    fields["n_shot"] = effective_shots(name, setting)
    return Setting(**fields)


def _check_backend_can_run(spec: BackendSpec, names: list[str]) -> None:
    mc = [n for n in names if not get_spec(n).generative]
    if mc and not spec.loglikelihood:
        if spec.chat_only:
            raise BackendError(
                f"{', '.join(mc)}: multiple-choice benchmarks are scored by log-likelihood, which chat "
                "endpoints do not return; use --backend openai-completions on the same server (its "
                "/v1/completions route), or run only gsm8k on openai-chat"
            )
        raise BackendError(
            f"{', '.join(mc)}: scoring multiple-choice benchmarks on an endpoint needs the served model's "
            "tokenizer to find where each answer starts: pass --tokenizer PATH_OR_NAME "
            "(or --model-arg tokenizer_backend=remote for servers that expose one, such as vLLM)"
        )


def _select_rows(
    bs: BenchmarkSet, limit: int | None, sample: int | None, seed: int
) -> tuple[list[int] | None, dict[str, Any]]:
    """Which rows lm-eval sees, and how they were chosen (recorded, and quoted in the verdict).

    `limit` keeps lm-eval's meaning (the first N documents of each lm-eval task, so N per MMLU
    subject) but is applied here, by writing only those rows, so lm-eval never has to process the
    rest of a 10k-item set for a 10-item run. `sample` draws N rows uniformly without replacement.
    """
    n = len(bs.rows)
    if limit is not None:
        per = get_spec(bs.benchmark).lm_eval.task_per  # one lm-eval task per subject (MMLU)
        if per is not None:
            taken: dict[str, int] = {}
            rows = []
            for i, row in enumerate(bs.rows):
                if taken.get(row[per], 0) < limit:
                    taken[row[per]] = taken.get(row[per], 0) + 1
                    rows.append(i)
            how = f"first {limit} item{'s' if limit > 1 else ''} of each {per} (--limit)"
        else:
            rows = list(range(min(limit, n)))
            how = f"first {len(rows)} item{'s' if len(rows) > 1 else ''} (--limit)"
        if len(rows) == n:
            return None, {"method": "all", "n": None, "seed": None, "description": "all items"}
        return rows, {"method": "first_n", "n": limit, "seed": None, "description": how}
    if sample is None or sample >= n:
        return None, {"method": "all", "n": None, "seed": None, "description": "all items"}
    # A per-benchmark stream derived from the seed, so adding a benchmark does not change the others.
    stream = int.from_bytes(hashlib.sha256(f"{seed}:{bs.benchmark}".encode()).digest()[:8], "little")
    # The first N of one permutation: a larger --sample contains the smaller one (nested samples keep
    # the anytime-valid tests valid when a user grows the sample after looking).
    picked = np.random.default_rng(stream).permutation(n)[:sample]
    return sorted(int(r) for r in picked), {
        "method": "random_sample",
        "n": sample,
        "seed": seed,
        "description": f"random sample of {sample} of {n} items (seed {seed})",
    }


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
    status = doc.get("status") if isinstance(doc, dict) else None
    if status == "failed":
        raise VerifyError(f"--clean-from {path}: the scan failed (status 'failed'): its items say nothing")
    items = doc.get("items") if isinstance(doc, dict) else None
    if not isinstance(items, list):
        raise VerifyError(f"--clean-from {path}: no 'items' list (is it a harness scan leakage.json?)")
    dirty: set[str] = set()
    for index, item in enumerate(items):
        if not isinstance(item, dict) or "item_id" not in item or "dirty" not in item:
            raise VerifyError(f"--clean-from {path}: items[{index}] lacks 'item_id' or 'dirty'")
        if item["dirty"]:
            dirty.add(str(item["item_id"]))
    info = {"path": path.name, "sha256": sha256_bytes(raw), "dirty_items": len(dirty), "scan_status": status}
    return dirty, info


INCOMPLETE_SCAN_NOTE = (
    "the scan was INCOMPLETE (part of the corpus was not read): items counted clean may be in what it "
    "did not read, so the clean score may still include leaked items; "
)


def mark_incomplete_scan(section: dict[str, Any], leakage_info: dict[str, Any] | None) -> None:
    """A clean-versus-dirty split from an incomplete scan says so in its note: "clean" there means
    "not found in what was read", never "not in the corpus"."""
    if leakage_info and leakage_info.get("scan_status") == "incomplete" and section.get("contamination"):
        section["contamination"]["note"] = INCOMPLETE_SCAN_NOTE + section["contamination"]["note"]


def _sanitize(value: Any) -> Any:
    """lm-eval results as plain JSON (``json_safe``): numpy scalars to Python, NaN/inf to None, and
    anything else (the functions in lm-eval's task configs) as its text without memory addresses."""
    return json_safe(value, default=lambda v: _ADDRESS.sub("", str(v)))


def _relocate(value: Any, out_dir: Path) -> Any:
    """Paths inside the output folder as "./..." and lm-eval's own task folder as a placeholder, so the
    JSON does not depend on where it was written (reproducible across folders)."""
    from harness.verify.tasks import lm_eval_tasks_dir

    replacements = [(str(out_dir.resolve()), "."), (str(lm_eval_tasks_dir()), "{lm_eval_tasks}")]

    def walk(v: Any) -> Any:
        if isinstance(v, str):
            for old, new in replacements:
                v = v.replace(old, new)
            return v
        if isinstance(v, dict):
            return {walk(k): walk(x) for k, x in v.items()}
        if isinstance(v, list):
            return [walk(x) for x in v]
        return v

    return walk(value)


def _benchmark_section(
    name: str,
    bs: BenchmarkSet,
    setting: Setting,
    plan: TaskPlan,
    claim: Claim | None,
    records: list[dict[str, Any]],
    result: dict[str, Any],
    selection: dict[str, Any],
    gen_kwargs: dict | None,
    dirty_ids: set[str] | None,
    *,
    max_gen_toks: int | None,
    tokenizer: bool,
    forced: list[str],
) -> tuple[dict[str, Any], Any, Any]:
    """One benchmark's section of verify.json (without its verdict), its measurement and truncation."""
    from harness.verify.ceilings import label_error_ceiling, no_ceiling_reason
    from harness.verify.statistics import stratified_estimate

    correct = [r["correct"] for r in records]
    plain_mean = float(np.mean(correct))
    lm_eval_value = result["results"].get(plan.request, {}).get(setting.metric_key)
    if lm_eval_value is not None and abs(float(lm_eval_value) - plain_mean) > 1e-9:
        raise VerifyError(
            f"{name}: per-item records give {plain_mean:.6f} but lm-eval reports {lm_eval_value:.6f} "
            f"for {setting.metric_key}; refusing to report inconsistent numbers"
        )
    measurement = measure_records(name, records, bs)
    ceiling = label_error_ceiling(name)
    own = {plan.request, *plan.doc_rows}
    partial = not bs.source.complete
    subset = len(records) < len(bs)
    truncation = truncation_of(name, records, max_gen_toks, tokenizer)
    spec = get_spec(name)
    section: dict[str, Any] = {
        "title": spec.title,
        "setting": setting.to_dict(),
        "metric_key": setting.metric_key,
        "partial": partial,
        "data": {
            "split": bs.split,
            "items_in_copy": len(bs),
            "items_scored": len(records),
            "complete": bs.source.complete,
            "partial_note": (bs.source.note or "partial copy of the test set") if partial else None,
            "selection": selection,
            "limited": subset,
            "content_sha256": bs.content_sha256,
            "source": bs.source.to_dict(),
        },
        "lm_eval": {
            **plan.to_dict(),
            "results": _sanitize({t: result["results"][t] for t in sorted(result["results"]) if t in own}),
            "n_samples": _sanitize({t: v for t, v in result.get("n-samples", {}).items() if t in own}),
            "configs": _sanitize(
                {t: result["configs"][t] for t in sorted(result.get("configs", {})) if t in own}
            ),
        },
        "lm_eval_score": lm_eval_value,
        "measurement": measurement.to_dict(),
        "full_test_estimate": None,
        "ceiling": ceiling.to_dict() if ceiling else None,
        "ceiling_note": None if ceiling else no_ceiling_reason(name),
        "claim": claim.to_dict() if claim else None,
        "claim_test": None,
        "ceiling_test": None,
        "setting_comparison": (
            compare_claim_setting(name, claim, setting, max_gen_toks, forced) if claim is not None else None
        ),
        "truncation": truncation.to_dict() if truncation else None,
        "verdict": None,
        "contamination": None,
    }
    strata = spec.strata
    if strata is not None:
        estimate = stratified_estimate(correct, [r["subject"] for r in records], strata.sizes)
        section["full_test_estimate"] = {
            **estimate,
            "sample_mean": plain_mean,
            "note": f"each {strata.key} weighted by its share of the {strata.total}-question {spec.title} "
            f"test set (stratified estimator over the {strata.key}s scored); this is the measurement the "
            "claim is tested against, and equals the plain mean on the complete test set",
        }
    section["caveats"] = _caveats(name, section, gen_kwargs)
    if dirty_ids is not None:
        # strata as clusters of the clean-versus-dirty comparison (a record's stratum is its "subject")
        clusters = [r["subject"] for r in records] if strata is not None else None
        section["contamination"] = contamination_section(name, records, clusters, dirty_ids)
    return section, measurement, truncation


def _caveats(name: str, section: dict[str, Any], gen_kwargs: dict | None) -> list[str]:
    """Sentences that qualify any verdict on this benchmark: what differs from a full, faithful run."""
    out = []
    data = section["data"]
    if section["partial"]:
        out.append(f"{name} was measured on a partial copy of its test set: {data['partial_note']}")
    selection = data["selection"]
    if selection["method"] == "first_n" and data["limited"]:
        out.append(
            f"scored on the {selection['description']} only, not a random sample: the interval and the "
            "test assume representative items"
        )
    elif selection["method"] == "random_sample":
        out.append(f"scored on a {selection['description']}; the interval covers that sampling")
    spec = get_spec(name)
    if gen_kwargs and spec.generative:
        out.append(
            f"generation settings were overridden ({', '.join(f'{k}={v}' for k, v in sorted(gen_kwargs.items()))})"
        )
    m = section["measurement"]
    if m.get("se_method") == "clustered":
        out.append(
            f"standard error clustered by {m.get('cluster_key')} ({m.get('n_clusters')} clusters, design effect "
            f"{m.get('design_effect'):.2f}): items sharing a source are not independent"
        )
    stratified = m.get("se_method") == "stratified" and m.get("sample_mean") is not None
    if stratified and spec.strata is not None and abs(m["sample_mean"] - m["score"]) >= 0.0005:
        out.append(
            f"weighted by {spec.strata.key} size as in the full {spec.title} test set ({spec.strata.total} "
            f"questions), the score is "
            f"{percent(m['score'])}, against {percent(m['sample_mean'])} unweighted on these items; "
            "the claim is tested against the weighted score"
        )
    trunc = section.get("truncation")
    if trunc and (trunc.get("truncated") or trunc.get("no_final_answer")):
        cut = trunc.get("truncated")
        out.append(
            (
                f"{cut} of {trunc['scored']} generations reached the {trunc['max_gen_toks']}-token cap; "
                if cut
                else ""
            )
            + f"{trunc['no_final_answer']} have no final answer for the strict filter"
        )
    return out


def contamination_section(
    name: str, records: list[dict[str, Any]], clusters: list[str] | None, dirty_ids: set[str]
) -> dict[str, Any]:
    """Clean-versus-dirty accuracy and a test of the difference; the clean score is the
    contamination-adjusted one. `clean`/`dirty` are measurements (score, n, interval), `p_value` tests
    "same accuracy on both" (None when one subset is empty)."""
    from harness.verify.statistics import compare_subsets, measure

    correct = [r["correct"] for r in records]
    ids = [r["item_id"] for r in records]
    clean_mask = [i not in dirty_ids for i in ids]
    n_dirty = clean_mask.count(False)
    dirty_for_benchmark = {i for i in dirty_ids if i.startswith(f"{name}/")}
    out: dict[str, Any] = {
        "dirty_ids_for_benchmark": len(dirty_for_benchmark),
        "dirty_items_scored": n_dirty,
        "clean_items_scored": len(ids) - n_dirty,
        "dirty_not_scored": len(dirty_for_benchmark - set(ids)),
        "clean": None,
        "dirty": None,
        "difference": None,
        "p_value": None,
        "difference_test": None,
        "adjusted_score": None,
        "note": "",
    }

    def subset(mask: list[bool]) -> dict[str, Any]:
        values = [c for c, m in zip(correct, mask, strict=True) if m]
        labels = None if clusters is None else [s for s, m in zip(clusters, mask, strict=True) if m]
        return measure(values, clusters=labels).to_dict()

    if n_dirty == 0:
        out["clean"] = subset(clean_mask)
        out["adjusted_score"] = out["clean"]["score"]
        out["note"] = "no scored item is flagged dirty: the measured score is already the clean score"
    elif n_dirty == len(ids):
        out["dirty"] = subset([not m for m in clean_mask])
        out["note"] = "every scored item is flagged dirty: no clean score can be given"
    else:
        test = compare_subsets(correct, clean_mask, clusters=clusters).to_dict()
        out.update(
            clean=test["clean"],
            dirty=test["dirty"],
            difference=test["difference"],
            p_value=test["p_value"],
            difference_test=test,
            adjusted_score=test["clean"]["score"],
        )
        out["note"] = (
            "difference = dirty - clean accuracy (positive: better on leaked items); the clean accuracy "
            "is the contamination-adjusted score"
        )
    return out
