"""Benchmark specs as data: every spec validates, agrees with lm-eval's own task YAML, and bad files
are refused with the file and the field named."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from harness.data import BENCHMARKS, get_spec, load_benchmark
from harness.data.registry import (
    SPEC_DIR,
    BenchmarkSpec,
    LmEvalTask,
    SpecError,
    benchmark_names,
    default_scan_set,
    read_specs,
)


def _stock_config(task: LmEvalTask, **fields: str) -> dict:
    """lm-eval's own reading of a stock task file (includes resolved), as its TaskConfig holds it."""
    from lm_eval.config.task import TaskConfig
    from lm_eval.tasks._yaml_loader import load_yaml

    from harness.verify.tasks import lm_eval_tasks_dir

    path = lm_eval_tasks_dir() / task.file.format(**fields)
    raw = load_yaml(path, resolve_func=False)
    known = set(TaskConfig.__dataclass_fields__)
    config = TaskConfig(**{k: v for k, v in raw.items() if k in known})
    return {k: getattr(config, k) for k in known} | {"fewshot_config": raw.get("fewshot_config")}


def _tasks(spec: BenchmarkSpec) -> list[LmEvalTask]:
    cot = spec.lm_eval.chain_of_thought
    return [spec.lm_eval, *([cot] if cot is not None else [])]


def test_the_registry_lists_the_five_benchmarks_in_order():
    assert benchmark_names() == ("gsm8k", "mmlu", "arc_challenge", "arc_easy", "hellaswag")
    assert default_scan_set() == benchmark_names()
    assert get_spec("mmlu").strata.total == 14042 == get_spec("mmlu").splits["test"]
    with pytest.raises(KeyError, match="unknown benchmark 'nope'; known: gsm8k, mmlu"):
        get_spec("nope")


@pytest.mark.parametrize("name", list(BENCHMARKS))
def test_spec_agrees_with_lm_evals_stock_task(name: str):
    """What the spec says about lm-eval (task name, shots, metrics, filters, split keys) is what
    lm-eval's own YAML defines: an lm-eval upgrade that changes a stock task fails here."""
    spec = get_spec(name)
    per = spec.lm_eval.task_per
    strata = list(spec.strata.sizes) if per and spec.strata else [None]
    for task in _tasks(spec):
        for stratum in strata:
            cfg = _stock_config(task, **({per: stratum} if per else {}))
            expected_name = f"{task.task}_{stratum}" if stratum else task.task
            assert cfg["task"] == expected_name
            assert (cfg["num_fewshot"] or 0) == task.shots
            assert cfg["output_type"] == ("generate_until" if spec.generative else "multiple_choice")
            assert tuple(m["metric"] for m in cfg["metric_list"]) == spec.lm_eval.metrics
            filters = tuple(f["name"] for f in cfg.get("filter_list") or []) or ("none",)
            assert filters == spec.lm_eval.filters
            # the split keys we set exist in lm-eval's config, and "eval" is the split it scores
            assert set(task.split_keys) <= set(cfg)
            scored = "test_split" if cfg.get("test_split") else "validation_split"
            assert task.split_keys[scored] == "eval"
            samples = (cfg.get("fewshot_config") or {}).get("samples")
            assert task.inline_fewshot == bool(samples)
            if samples:
                assert len(samples) == task.shots


@pytest.mark.parametrize("name", list(BENCHMARKS))
def test_scan_fields_are_the_ones_the_leakage_index_reads(name: str):
    """The spec's scan fields name what `harness.leakage.index.item_fields` indexes today (phase 2 of
    issue 10 makes the scan read them from the spec)."""
    from harness.leakage.index import item_fields

    bs = load_benchmark(name)
    spec = get_spec(name)
    seen = {field.split("[")[0] for i in range(20) for field, _ in item_fields(bs, i)}
    assert seen == set(spec.scan.fields)
    assert {"question", "ctx"} & seen == {spec.text_field}


def test_cluster_key_takes_the_first_key_every_row_has():
    spec = get_spec("hellaswag")
    assert spec.cluster_key([{"source_id": "a"}, {"source_id": "b"}]) == "source_id"
    assert spec.cluster_key([{"source_id": "a"}, {"source_id": ""}]) == "activity_label"
    assert spec.cluster_key([]) is None
    assert get_spec("arc_easy").cluster_key([{"source_id": "a"}]) is None


def _copy_specs(tmp_path: Path) -> Path:
    folder = tmp_path / "benchmarks"
    shutil.copytree(SPEC_DIR, folder)
    return folder


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (('default_metric = "acc_norm"', 'default_metric = "f1"'), r"lm_eval: .*default_metric 'f1'"),
        (('title = "ARC-Easy"\n', ""), r"title: Field required"),
        (('licence = "CC BY-SA 4.0"', 'licence = "x"\nlicense = "y"'), r"license: Extra inputs"),
        (("test = 2376", 'test = "many"'), r"splits.test: Input should be a valid integer"),
        (('eval_split = "test"', 'eval_split = "dev"'), r"eval_split 'dev' is not among splits"),
        (("[ceiling]\n", '[ceiling]\nsource = "x"\n'), r"ceiling: .*exactly one of 'source'"),
        (('test_split = "eval", ', 'test_split = "fewshot", '), r"exactly one key as the scored split"),
    ],
)
def test_a_bad_spec_names_the_file_and_the_field(tmp_path: Path, edit: tuple[str, str], message: str):
    folder = _copy_specs(tmp_path)
    path = folder / "arc_easy.toml"
    text = path.read_text()
    assert edit[0] in text
    path.write_text(text.replace(edit[0], edit[1], 1))
    with pytest.raises(SpecError, match=message) as info:
        read_specs(folder)
    assert str(path) in str(info.value)


def test_index_and_spec_files_must_agree(tmp_path: Path):
    folder = _copy_specs(tmp_path)
    (folder / "extra.toml").write_text((folder / "arc_easy.toml").read_text())
    with pytest.raises(SpecError, match=r"index.toml: lists .* but the folder has"):
        read_specs(folder)
    (folder / "extra.toml").unlink()
    (folder / "hellaswag.toml").rename(folder / "hella.toml")
    with pytest.raises(SpecError, match=r"index\.toml: lists"):
        read_specs(folder)


def test_spec_name_must_match_its_file(tmp_path: Path):
    folder = _copy_specs(tmp_path)
    path = folder / "arc_easy.toml"
    path.write_text(path.read_text().replace('name = "arc_easy"', 'name = "arc_e"'))
    with pytest.raises(SpecError, match="does not match the file name"):
        read_specs(folder)


def test_mmlu_strata_must_sum_to_the_test_set(tmp_path: Path):
    folder = _copy_specs(tmp_path)
    path = folder / "mmlu.toml"
    path.write_text(path.read_text().replace("anatomy = 135", "anatomy = 136"))
    with pytest.raises(SpecError, match="strata sizes sum to 14043, not the 14042 items"):
        read_specs(folder)
