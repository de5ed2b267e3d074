"""Generated lm-eval task configs: they load in lm-eval, include its stock prompts, and read our rows."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.data import load_benchmark
from harness.verify.claims import Setting, default_setting
from harness.verify.tasks import TaskConfigError, lm_eval_tasks_dir, prepare_task


def _tasks(task_dir: Path, request: str) -> dict:
    """lm-eval's leaf tasks for a request, loaded exactly as run_verify loads them."""
    from lm_eval.tasks import TaskManager

    return TaskManager(include_path=str(task_dir), include_defaults=False).load([request])["tasks"]


@pytest.mark.parametrize("benchmark", ["gsm8k", "arc_easy", "arc_challenge", "hellaswag"])
def test_task_reads_our_rows_with_the_stock_prompt(tmp_path, benchmark):
    bs = load_benchmark(benchmark)
    rows = [0, 5, 17]
    plan = prepare_task(bs, default_setting(benchmark), tmp_path, rows=rows)
    assert plan.doc_rows == {plan.request: rows}
    task = _tasks(tmp_path, plan.request)[plan.request]
    docs = list(task.eval_docs)
    assert len(docs) == 3
    text = task.doc_to_text(docs[1])
    if benchmark == "gsm8k":
        assert text == f"Question: {bs.rows[5]['question']}\nAnswer:"  # lm-eval's gsm8k.yaml prompt
    elif benchmark.startswith("arc"):
        assert text == f"Question: {bs.rows[5]['question']}\nAnswer:"
        assert task.doc_to_choice(docs[1]) == list(bs.rows[5]["choices"]["text"])
    else:  # hellaswag: lm-eval's process_docs built the query from our ctx_a/ctx_b
        assert text.startswith(bs.rows[5]["activity_label"] + ":")
        assert task.doc_to_target(docs[1]) == int(bs.rows[5]["label"])
    # the recorded YAML is portable: no absolute paths of this machine
    yaml_text = plan.yaml_files[f"{plan.request}.yaml"]
    assert "{lm_eval_tasks}" in yaml_text and "{task_dir}" in yaml_text
    assert str(tmp_path) not in yaml_text and str(lm_eval_tasks_dir()) not in yaml_text


def test_mmlu_group_maps_docs_to_subject_rows(tmp_path):
    bs = load_benchmark("mmlu")
    rows = [0, 1, 150, 5699]  # abstract_algebra x2, anatomy, world_religions
    plan = prepare_task(bs, default_setting("mmlu"), tmp_path, rows=rows)
    assert plan.request == "harness_mmlu"
    assert plan.doc_rows == {
        "harness_mmlu_abstract_algebra": [0, 1],
        "harness_mmlu_anatomy": [150],
        "harness_mmlu_world_religions": [5699],
    }
    tasks = _tasks(tmp_path, plan.request)
    anatomy = tasks["harness_mmlu_anatomy"]
    doc = next(iter(anatomy.eval_docs))
    assert doc["question"] == bs.rows[150]["question"]
    assert anatomy.doc_to_choice(doc) == ["A", "B", "C", "D"]
    assert anatomy.config.description.startswith("The following are multiple choice questions")


def test_chain_of_thought_uses_gsm8k_cot(tmp_path):
    setting = Setting(metric="exact_match", filter="flexible-extract", chain_of_thought=True)
    plan = prepare_task(load_benchmark("gsm8k"), setting, tmp_path, rows=[0])
    assert plan.request == "harness_gsm8k_cot" and plan.num_fewshot == 8
    assert plan.fewshot_source is None  # the 8 exemplars are inline in lm-eval's gsm8k-cot.yaml
    with pytest.raises(TaskConfigError, match="8 fixed exemplars"):
        prepare_task(load_benchmark("gsm8k"), Setting("exact_match", "strict-match", 5, True), tmp_path)


def test_few_shot_without_a_local_split_is_a_clear_error(tmp_path):
    with pytest.raises(TaskConfigError, match="harness data import"):
        prepare_task(load_benchmark("hellaswag"), Setting("acc_norm", "none", n_shot=5), tmp_path)
    with pytest.raises(TaskConfigError, match="dev"):
        prepare_task(load_benchmark("mmlu"), Setting("acc", "none", n_shot=5), tmp_path)


def test_bad_row_selection(tmp_path):
    bs = load_benchmark("arc_easy")
    with pytest.raises(TaskConfigError, match="out of range"):
        prepare_task(bs, default_setting("arc_easy"), tmp_path, rows=[len(bs)])
    with pytest.raises(TaskConfigError, match="no rows"):
        prepare_task(bs, default_setting("arc_easy"), tmp_path, rows=[])
