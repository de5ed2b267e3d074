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
from harness.verify.claims import Setting

# lm-eval's stock task file per benchmark (relative to lm_eval/tasks) and its default shot count.
STOCK_TASKS: dict[str, tuple[str, int]] = {
    "gsm8k": ("gsm8k/gsm8k.yaml", 5),
    "gsm8k_cot": ("gsm8k/gsm8k-cot.yaml", 8),
    "arc_easy": ("arc/arc_easy.yaml", 0),
    "arc_challenge": ("arc/arc_challenge.yaml", 0),
    "hellaswag": ("hellaswag/hellaswag.yaml", 0),
    "mmlu": ("mmlu/default/mmlu_{subject}.yaml", 0),
}
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


def stock_task_name(benchmark: str, setting: Setting) -> str:
    return "gsm8k_cot" if benchmark == "gsm8k" and setting.chain_of_thought else benchmark


def effective_shots(benchmark: str, setting: Setting) -> int:
    stock = stock_task_name(benchmark, setting)
    return STOCK_TASKS[stock][1] if setting.n_shot is None else setting.n_shot


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
    stock = stock_task_name(benchmark, setting)
    shots = effective_shots(benchmark, setting)
    spec = get_spec(benchmark)
    # gsm8k_cot carries its 8 exemplars inline (lm-eval's fewshot_config.samples): no split needed.
    needs_split = shots > 0 and stock != "gsm8k_cot"
    if needs_split and fewshot is None:
        fewshot = load_fewshot(benchmark, spec.fewshot_split)
    if stock == "gsm8k_cot" and setting.n_shot not in (None, 0, 8):
        raise TaskConfigError(
            f"gsm8k chain of thought: lm-eval's gsm8k_cot has 8 fixed exemplars; n_shot={setting.n_shot} "
            "cannot be reproduced with it (use n_shot = 8 or 0)"
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

    if benchmark == "mmlu":
        subjects: dict[str, list[int]] = {}
        for index in selected:
            subjects.setdefault(bs.rows[index]["subject"], []).append(index)
        dev: dict[str, list[dict[str, Any]]] = {}
        if needs_split and fewshot is not None:
            for row in fewshot.rows:
                dev.setdefault(row["subject"], []).append(row)
        names = []
        for subject in sorted(subjects):
            name = f"{TASK_PREFIX}mmlu_{subject}"
            files = {
                bs.split: _write_rows(
                    data_dir / bs.split / f"{subject}.parquet", [bs.rows[i] for i in subjects[subject]]
                )
            }
            if needs_split:
                if len(dev.get(subject, [])) < shots:
                    raise TaskConfigError(
                        f"mmlu {shots}-shot: the few-shot split has {len(dev.get(subject, []))} rows for "
                        f"'{subject}'; import a complete MMLU copy with its dev split"
                    )
                files["dev"] = _write_rows(data_dir / "dev" / f"{subject}.parquet", dev[subject])
            config = {
                "include": str(stock_dir / STOCK_TASKS["mmlu"][0].format(subject=subject)),
                "task": name,
                "tag": [],
                "dataset_path": "parquet",
                "dataset_name": None,
                "dataset_kwargs": {"data_files": files},
                "test_split": bs.split,
                "fewshot_split": "dev" if needs_split else None,
                "num_fewshot": shots,
            }
            _write_yaml(plan, task_dir, f"{name}.yaml", config, stock_dir)
            plan.doc_rows[name] = subjects[subject]
            plan.subjects[name] = subject
            names.append(name)
        group = {
            "group": f"{TASK_PREFIX}mmlu",
            "task": names,
            "aggregate_metric_list": [{"metric": "acc", "weight_by_size": True}],
            "metadata": {"version": 2},
        }
        _write_yaml(plan, task_dir, f"{TASK_PREFIX}mmlu.yaml", group, stock_dir)
        plan.request = f"{TASK_PREFIX}mmlu"
        return plan

    name = f"{TASK_PREFIX}{stock}"
    files = {bs.split: _write_rows(data_dir / f"{bs.split}.parquet", [bs.rows[i] for i in selected])}
    config: dict[str, Any] = {
        "include": str(stock_dir / STOCK_TASKS[stock][0]),
        "task": name,
        "tag": [],
        "dataset_path": "parquet",
        "dataset_name": None,
    }
    if benchmark == "hellaswag":
        # stock: training_split train, validation_split validation (scored), test_split null
        config["validation_split"] = bs.split
        config["training_split"] = "train" if needs_split else None
    elif benchmark in ("arc_easy", "arc_challenge"):
        config["test_split"] = bs.split
        config["validation_split"] = None
        config["training_split"] = "train" if needs_split else None
    else:  # gsm8k / gsm8k_cot
        config["test_split"] = bs.split
        if stock == "gsm8k":
            config["training_split"] = "train" if needs_split else None
            config["fewshot_split"] = "train" if needs_split else None
    if needs_split and fewshot is not None:
        files["train"] = _write_rows(data_dir / "train.parquet", fewshot.rows)
    config["dataset_kwargs"] = {"data_files": files}
    # The shot count lives in the task file (not a run argument), so `lm_eval --include_path` replays it.
    config["num_fewshot"] = shots
    _write_yaml(plan, task_dir, f"{name}.yaml", config, stock_dir)
    plan.doc_rows[name] = selected
    plan.subjects[name] = None
    plan.request = name
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
            + (" of a partial MMLU sample" if benchmark == "mmlu" else "")
            + ")."
        ) from exc


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
