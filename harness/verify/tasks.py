"""lm-eval task configs that run the stock tasks on the data layer's local copies.

Each generated YAML `include`s lm-eval's own task file (so prompts, few-shot formatting, filters
and metrics are lm-eval's, byte for byte) and overrides only where the documents come from:
`dataset_path: parquet` with `data_files` written from `load_benchmark(...).rows` in the Hub
schema. Nothing here reaches the Hugging Face Hub. The YAML files are kept next to the report so
a run can be replayed with plain `lm_eval --include_path`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import yaml

from harness.data import DataError, get_spec, load_benchmark
from harness.data.items import BenchmarkSet
from harness.data.registry import LmEvalTask
from harness.verify.claims import Setting

TASK_PREFIX = "harness_"


class TaskConfigError(ValueError):
    """A benchmark cannot be run in the requested setting with the data available."""


@dataclass
class TaskPlan:
    """The lm-eval task (or group) to request for one benchmark, and how its docs map to our items."""

    benchmark: str
    request: str  # task or group name given to lm-eval
    num_fewshot: int
    doc_rows: dict[str, list[int]]  # lm-eval task name -> our row index for each doc_id
    subjects: dict[str, str | None]  # lm-eval task name -> MMLU subject (None elsewhere)
    yaml_files: dict[str, str] = field(default_factory=dict)  # file name -> YAML text (portable form)
    fewshot_source: dict[str, Any] | None = None  # the split few-shot examples were drawn from

    def to_dict(self) -> dict[str, Any]:
        return {
            "request": self.request,
            "num_fewshot": self.num_fewshot,
            "tasks": sorted(self.doc_rows),
            "fewshot_source": self.fewshot_source,
            "yaml_files": dict(sorted(self.yaml_files.items())),
        }


def lm_eval_tasks_dir() -> Path:
    import lm_eval

    return Path(lm_eval.__file__).parent / "tasks"


def stock_task(benchmark: str, setting: Setting) -> LmEvalTask:
    """The stock lm-eval task a setting runs (the spec's chain-of-thought task when it asks for one)."""
    return get_spec(benchmark).lm_eval.task_for(setting.chain_of_thought)


def stock_task_name(benchmark: str, setting: Setting) -> str:
    return stock_task(benchmark, setting).task


def effective_shots(benchmark: str, setting: Setting) -> int:
    return stock_task(benchmark, setting).shots if setting.n_shot is None else setting.n_shot


def prepare_task(
    bs: BenchmarkSet,
    setting: Setting,
    task_dir: Path,
    fewshot: BenchmarkSet | None = None,
    rows: list[int] | None = None,
) -> TaskPlan:
    """Write data files and YAML for one benchmark under `task_dir`; return what to request.

    `fewshot` is the split few-shot examples come from; when None and the setting needs one, it is
    loaded from the data layer, and a missing split is a clear error (never a silent 0-shot run).
    `rows` (indices into `bs.rows`, e.g. a random sample) restricts the documents lm-eval sees; the
    plan maps each lm-eval doc back to its row in `bs`.
    """
    selected = list(range(len(bs.rows))) if rows is None else sorted(set(rows))
    if not selected:
        raise TaskConfigError(f"{bs.benchmark}: no rows selected to evaluate")
    if selected[0] < 0 or selected[-1] >= len(bs.rows):
        raise TaskConfigError(f"{bs.benchmark}: row index out of range 0..{len(bs.rows) - 1}")
    benchmark = bs.benchmark
    spec = get_spec(benchmark)
    stock = stock_task(benchmark, setting)
    shots = effective_shots(benchmark, setting)
    # A task with inline exemplars (gsm8k_cot's 8, lm-eval's fewshot_config.samples) needs no split.
    needs_split = shots > 0 and not stock.inline_fewshot
    if needs_split and fewshot is None:
        fewshot = load_fewshot(benchmark, spec.fewshot_split)
    if stock.inline_fewshot and setting.n_shot not in (None, 0, stock.shots):
        raise TaskConfigError(
            f"{benchmark} chain of thought: lm-eval's {stock.task} has {stock.shots} fixed exemplars; "
            f"n_shot={setting.n_shot} cannot be reproduced with it (use n_shot = {stock.shots} or 0)"
        )
    data_dir = task_dir / "data" / benchmark
    data_dir.mkdir(parents=True, exist_ok=True)
    plan = TaskPlan(benchmark=benchmark, request="", num_fewshot=shots, doc_rows={}, subjects={})
    if fewshot is not None and needs_split:
        plan.fewshot_source = {
            "split": fewshot.split,
            "content_sha256": fewshot.content_sha256,
            "source": fewshot.source.to_dict(),
        }
    stock_dir = lm_eval_tasks_dir()
    # The split names our data files use: the scored one, and the few-shot one when shots are drawn.
    fewshot_name = spec.fewshot_split if needs_split else None
    split_values = {"eval": bs.split, "fewshot": fewshot_name, "none": None}
    splits = {key: split_values[role] for key, role in stock.split_keys.items()}

    if spec.lm_eval.task_per is not None:
        return _prepare_group(plan, bs, stock, selected, splits, fewshot if needs_split else None, task_dir)

    name = f"{TASK_PREFIX}{stock.task}"
    files = {bs.split: _write_rows(data_dir / f"{bs.split}.parquet", [bs.rows[i] for i in selected])}
    config: dict[str, Any] = {
        "include": str(stock_dir / stock.file),
        "task": name,
        "tag": [],
        "dataset_path": "parquet",
        "dataset_name": None,
        **splits,
    }
    if fewshot_name is not None and fewshot is not None:
        files[fewshot_name] = _write_rows(data_dir / f"{fewshot_name}.parquet", fewshot.rows)
    config["dataset_kwargs"] = {"data_files": files}
    # The shot count lives in the task file (not a run argument), so `lm_eval --include_path` replays it.
    config["num_fewshot"] = shots
    _write_yaml(plan, task_dir, f"{name}.yaml", config, stock_dir)
    plan.doc_rows[name] = selected
    plan.subjects[name] = None
    plan.request = name
    return plan


def _prepare_group(
    plan: TaskPlan,
    bs: BenchmarkSet,
    stock: LmEvalTask,
    selected: list[int],
    splits: dict[str, str | None],
    fewshot: BenchmarkSet | None,
    task_dir: Path,
) -> TaskPlan:
    """A benchmark run as one stock task per stratum (MMLU: per subject), requested as one group.

    lm-eval aggregates the group's accuracy weighted by task size, as its own MMLU group does.
    """
    benchmark, shots = bs.benchmark, plan.num_fewshot
    spec = get_spec(benchmark)
    key = spec.lm_eval.task_per
    assert key is not None
    stock_dir = lm_eval_tasks_dir()
    data_dir = task_dir / "data" / benchmark
    fewshot_name = spec.fewshot_split
    strata: dict[str, list[int]] = {}
    for index in selected:
        strata.setdefault(bs.rows[index][key], []).append(index)
    examples: dict[str, list[dict[str, Any]]] = {}
    if fewshot is not None:
        for row in fewshot.rows:
            examples.setdefault(row[key], []).append(row)
    names = []
    for value in sorted(strata):
        name = f"{TASK_PREFIX}{stock.task}_{value}"
        files = {
            bs.split: _write_rows(
                data_dir / bs.split / f"{value}.parquet", [bs.rows[i] for i in strata[value]]
            )
        }
        if fewshot is not None and fewshot_name is not None:
            if len(examples.get(value, [])) < shots:
                raise TaskConfigError(
                    f"{benchmark} {shots}-shot: the few-shot split has {len(examples.get(value, []))} rows for "
                    f"'{value}'; import a complete {spec.title} copy with its {fewshot_name} split"
                )
            files[fewshot_name] = _write_rows(data_dir / fewshot_name / f"{value}.parquet", examples[value])
        config = {
            "include": str(stock_dir / stock.file.format(**{key: value})),
            "task": name,
            "tag": [],
            "dataset_path": "parquet",
            "dataset_name": None,
            "dataset_kwargs": {"data_files": files},
            **splits,
            "num_fewshot": shots,
        }
        _write_yaml(plan, task_dir, f"{name}.yaml", config, stock_dir)
        plan.doc_rows[name] = strata[value]
        plan.subjects[name] = value
        names.append(name)
    group = {
        "group": f"{TASK_PREFIX}{stock.task}",
        "task": names,
        "aggregate_metric_list": [{"metric": spec.lm_eval.default_metric, "weight_by_size": True}],
        "metadata": {"version": 2},
    }
    _write_yaml(plan, task_dir, f"{TASK_PREFIX}{stock.task}.yaml", group, stock_dir)
    plan.request = f"{TASK_PREFIX}{stock.task}"
    return plan


def load_fewshot(benchmark: str, split: str | None) -> BenchmarkSet:
    """The few-shot split of a benchmark, or an error saying how to get it."""
    if split is None:
        raise TaskConfigError(f"{benchmark} has no few-shot split")
    try:
        return load_benchmark(benchmark, split)
    except DataError as exc:
        raise TaskConfigError(
            f"{benchmark} with n_shot > 0 needs its '{split}' split for few-shot examples, and no local copy "
            f"has it ({exc}). Import a complete copy first: `harness data import PATH --benchmark {benchmark}` "
            "(the bundled snapshot ships only the evaluation split"
            + ("" if _bundled_complete(benchmark) else f" of a partial {get_spec(benchmark).title} sample")
            + ")."
        ) from exc


def _bundled_complete(benchmark: str) -> bool:
    """Whether the bundled snapshot's evaluation split of a benchmark is the complete set."""
    from harness.data import snapshot

    meta = snapshot.entry(snapshot.BUNDLED_DIR, benchmark, get_spec(benchmark).eval_split)
    return bool(meta and meta["complete"])


def _write_rows(path: Path, rows: tuple[dict[str, Any], ...] | list[dict[str, Any]]) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(list(rows)), path)
    return str(path.resolve())


def _write_yaml(plan: TaskPlan, task_dir: Path, name: str, config: dict[str, Any], stock_dir: Path) -> None:
    text = yaml.safe_dump(config, sort_keys=False, allow_unicode=True)
    (task_dir / name).write_text(text, encoding="utf-8")
    # The recorded copy names directories symbolically, so equal runs record equal text.
    portable = text.replace(str(task_dir.resolve()), "{task_dir}").replace(str(stock_dir), "{lm_eval_tasks}")
    plan.yaml_files[name] = portable
