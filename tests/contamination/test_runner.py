"""The whole pipeline on a fake model (no lm-eval scoring): twins, memorisation tests, calibration,
verdicts, the record and its Markdown; real data, real statistics."""

import orjson
import pytest

from harness.contamination.runner import ContaminationError, Subject, run_contamination
from harness.contamination.twins import item_text, make_twins
from harness.data import load_benchmark
from harness.records.status import exit_code

TESTS = ["likelihood", "completion"]


def _run(tmp_path, probe, **kw):
    return run_contamination(
        model="fake",
        backend="hf",
        out_dir=tmp_path,
        subjects=(Subject(lm=None, probe=probe, spec=None, chat=False), kw.pop("reference", None)),
        progress=False,
        **{"tests": TESTS, "sample": 30, "seed": 7, **kw},
    )


def test_gsm8k_memorised_items_are_flagged_and_ranked_first(tmp_path, memorising_probe):
    bs = load_benchmark("gsm8k")
    # which items the run will test: the same seeded sample the runner draws
    from harness.contamination.runner import select_rows

    ts = make_twins(bs, seed=7, k=2)
    rows = select_rows(ts.rows, 30, 7, "gsm8k")
    seen_rows = rows[:8]
    probe = memorising_probe(
        seen=[bs.rows[r]["question"] + "\nAnswer: " + bs.rows[r]["answer"] for r in seen_rows],
        seen_questions=[bs.rows[r]["question"] for r in seen_rows],
    )
    record = _run(tmp_path, probe)
    section = record["benchmarks"]["gsm8k"]
    assert section["calibration"] == "control"
    assert section["verdict"] == "contaminated", section["verdict_detail"]
    assert record["status"] == "flagged" and exit_code(record["status"]) == 1
    assert set(section["top_items"][:8]) == {bs.items[r].item_id for r in seen_rows}
    assert section["twins"]["with_twins"] > 800 and section["twins"]["left_out"] > 0
    assert section["memorisation"]["completion"]["exact_rate_original"] > 0.2
    written = orjson.loads((tmp_path / "contamination.json").read_bytes())
    assert written["benchmarks"]["gsm8k"]["verdict"] == "contaminated"
    assert "contaminated" in (tmp_path / "contamination.md").read_text()
    # twins are in the run folder for the reviewer, with the item ids
    lines = (tmp_path / "twins" / "gsm8k.jsonl").read_text().splitlines()
    assert len(lines) == 30


def test_gsm8k_clean_model_is_not_flagged(tmp_path, memorising_probe):
    record = _run(tmp_path, memorising_probe())
    section = record["benchmarks"]["gsm8k"]
    assert section["verdict"] in ("no evidence", "inconclusive")
    assert section["verdict"] != "contaminated"
    assert record["status"] in ("clean", "unresolved")


def test_model_that_saw_the_train_split_is_not_accused(tmp_path, memorising_probe):
    train = load_benchmark("gsm8k", "train")
    seen = [item_text("gsm8k", row) for row in train.rows]  # everything in train memorised
    record = _run(tmp_path, memorising_probe(seen=seen))
    assert record["benchmarks"]["gsm8k"]["verdict"] != "contaminated"


def test_mmlu_option_order(tmp_path, memorising_probe):
    bs = load_benchmark("mmlu")
    ts = make_twins(bs, seed=7, k=2)
    from harness.contamination.runner import select_rows

    rows = select_rows(ts.rows, 30, 7, "mmlu")
    seen = [item_text("mmlu", bs.rows[r]) for r in rows[:10]]
    record = _run(tmp_path, memorising_probe(seen=seen), benchmarks=["mmlu"], tests=["likelihood"])
    section = record["benchmarks"]["mmlu"]
    assert section["calibration"] == "option order"
    assert section["verdict"] == "contaminated"
    clean = _run(tmp_path / "clean", memorising_probe(), benchmarks=["mmlu"], tests=["likelihood"])
    assert clean["benchmarks"]["mmlu"]["verdict"] != "contaminated"


def test_reruns_give_the_same_record(tmp_path, memorising_probe):
    a = _run(tmp_path / "a", memorising_probe(), tests=["likelihood"])
    b = _run(tmp_path / "b", memorising_probe(), tests=["likelihood"])
    a.pop("timing"), b.pop("timing")
    assert orjson.dumps(a, option=orjson.OPT_SORT_KEYS) == orjson.dumps(b, option=orjson.OPT_SORT_KEYS)


@pytest.mark.parametrize(
    "kwargs",
    [{"benchmarks": ["nope"]}, {"tests": ["magic"]}, {"twins": 0}, {"alpha": 0.9}, {"sample": 1}],
)
def test_bad_options_are_refused(tmp_path, memorising_probe, kwargs):
    with pytest.raises(ContaminationError):
        _run(tmp_path, memorising_probe(), **kwargs)
