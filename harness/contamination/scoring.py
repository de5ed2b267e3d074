"""Accuracy on originals and twins, scored by lm-eval with its own prompts, in one run of one model.

Each version (the originals, twin set 1, twin set 2, ...) becomes its own task folder written by
``harness.verify.tasks.prepare_task`` (lm-eval's stock task file, our rows), and is evaluated by
``lm_eval.evaluator.simple_evaluate`` on the same model object with the same seeds. The rows of every
version are in the same item order, and lm-eval seeds its few-shot sampler per task, so item i gets
the same few-shot examples in every version: the prompts differ only in the item itself (a test
checks this). Per-item correctness comes back through ``harness.verify.records.build_records``.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.data.items import BenchmarkSet
from harness.verify.claims import Setting
from harness.verify.records import build_records
from harness.verify.tasks import prepare_task


@dataclass
class VersionScores:
    """Per-item correctness (0/1) of one version, the prompts lm-eval sent, and the responses."""

    correct: list[float]
    prompts: list[str]
    responses: list[str]
    extracted: list[str | None]
    lm_eval_task: str
    yaml_files: dict[str, str]


def score_version(
    lm: Any,
    bs: BenchmarkSet,
    setting: Setting,
    task_dir: Path,
    *,
    seed: int,
    gen_kwargs: dict[str, Any] | None = None,
    chat: bool = False,
) -> VersionScores:
    """Score every row of ``bs`` (one version of the selected items) with lm-eval; rows keep their order."""
    from lm_eval import evaluator
    from lm_eval.tasks import TaskManager

    plan = prepare_task(bs, setting, task_dir)
    manager = TaskManager(include_path=str(task_dir), include_defaults=False)
    with _quiet():
        result = evaluator.simple_evaluate(
            model=lm,
            tasks=[plan.request],
            num_fewshot=None,
            limit=None,
            task_manager=manager,
            log_samples=True,
            bootstrap_iters=0,
            apply_chat_template=chat,
            fewshot_as_multiturn=chat and plan.num_fewshot > 0,
            gen_kwargs=dict(gen_kwargs) if gen_kwargs else None,
            random_seed=seed,
            numpy_random_seed=seed,
            torch_random_seed=seed,
            fewshot_random_seed=seed,
        )
    if result is None:
        raise RuntimeError("lm-eval returned no results (distributed worker?)")
    records = build_records(bs, result["samples"], plan.doc_rows, plan.subjects, setting.metric_key)
    by_id = {r["item_id"]: r for r in records}
    ordered = [by_id[item.item_id] for item in bs.items]
    return VersionScores(
        correct=[float(r["correct"]) for r in ordered],
        prompts=[r["prompt"] for r in ordered],
        responses=[r["response"] for r in ordered],
        extracted=[r["extracted"] for r in ordered],
        lm_eval_task=plan.request,
        yaml_files=plan.yaml_files,
    )


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    loggers = [logging.getLogger(n) for n in ("lm_eval", "lm-eval", "datasets", "transformers")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.WARNING)
    try:
        yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)
