"""run_verify's pure parts: item selection, clean-versus-dirty, headline, and the Markdown rendering."""

from __future__ import annotations

import pytest

from harness.data import load_benchmark
from harness.verify.runner import _select_rows, contamination_section
from harness.verify.sections import status_and_headline
from harness.verify.statistics import compare_subsets, measure
from harness.verify.summary import render_markdown, rows


def test_limit_takes_the_first_items_and_mmlu_per_subject():
    arc = load_benchmark("arc_challenge")
    picked, how = _select_rows(arc, limit=3, sample=None, seed=1)
    assert picked == [0, 1, 2] and how["method"] == "first_n"
    mmlu = load_benchmark("mmlu")
    picked, how = _select_rows(mmlu, limit=2, sample=None, seed=1)
    assert len(picked) == 114
    subjects = [mmlu.rows[i]["subject"] for i in picked]
    assert all(subjects.count(s) == 2 for s in set(subjects)) and len(set(subjects)) == 57
    assert _select_rows(arc, limit=5000, sample=None, seed=1)[0] is None  # more than the set: all


def test_sample_is_seeded_per_benchmark():
    arc = load_benchmark("arc_challenge")
    a, how = _select_rows(arc, limit=None, sample=50, seed=3)
    assert a == _select_rows(arc, limit=None, sample=50, seed=3)[0] and len(set(a)) == 50
    assert a != _select_rows(arc, limit=None, sample=50, seed=4)[0]
    assert how == {
        "method": "random_sample", "n": 50, "seed": 3,
        "description": "random sample of 50 of 1172 items (seed 3)",
    }  # fmt: skip
    easy = _select_rows(load_benchmark("arc_easy"), limit=None, sample=50, seed=3)[0]
    assert easy != a  # not the same row numbers in every benchmark


def test_samples_are_nested_so_a_growing_sample_is_one_sequential_experiment():
    arc = load_benchmark("arc_challenge")
    small = _select_rows(arc, limit=None, sample=20, seed=7)[0]
    large = _select_rows(arc, limit=None, sample=200, seed=7)[0]
    assert set(small) < set(large)


def _records(correct, ids, subjects=None):
    return [
        {"item_id": i, "correct": c, "subject": s}
        for i, c, s in zip(ids, correct, subjects or [None] * len(ids), strict=True)
    ]


def test_contamination_section_shape_and_numbers():
    correct = [1.0] * 40 + [0.0] * 10 + [1.0] * 45 + [0.0] * 5
    ids = [f"arc_easy/test/{i}" for i in range(100)]
    dirty = {f"arc_easy/test/{i}" for i in range(50, 100)} | {"arc_easy/test/999", "gsm8k/test/1"}
    sec = contamination_section("arc_easy", _records(correct, ids), None, dirty)
    ref = compare_subsets(correct, [True] * 50 + [False] * 50).to_dict()
    assert sec["clean"] == ref["clean"] and sec["dirty"] == ref["dirty"]
    assert sec["difference"] == pytest.approx(0.1) and sec["p_value"] == ref["p_value"]
    assert sec["adjusted_score"] == 0.8
    assert (sec["dirty_ids_for_benchmark"], sec["dirty_items_scored"], sec["dirty_not_scored"]) == (51, 50, 1)
    none = contamination_section("arc_easy", _records(correct, ids), None, {"gsm8k/test/1"})
    assert none["dirty"] is None and none["p_value"] is None and none["clean"] == measure(correct).to_dict()
    every = contamination_section("arc_easy", _records(correct, ids), None, set(ids))
    assert every["clean"] is None and every["adjusted_score"] is None and every["dirty"]["n"] == 100


def test_headline_and_status():
    def sec(score, claim=None, label=None, partial=False):
        m = measure([1.0] * int(score * 10) + [0.0] * (10 - int(score * 10))).to_dict()
        return {
            "measurement": m,
            "claim": {"value": claim} if claim is not None else None,
            "verdict": {"label": label} if label else None,
            "partial": partial,
        }

    status, line = status_and_headline(
        {"gsm8k": sec(0.5, 99.2, "implausible"), "mmlu": sec(0.3, partial=True)}, True, []
    )
    assert status == "flagged"
    assert line.startswith("gsm8k claimed 99.2% is implausible (measured 50.0% [")
    assert "mmlu measured 30.0%" in line and line.endswith("on a partial test set.")
    for label, expected in [
        ("reproduced", "clean"),
        ("consistent", "clean"),
        ("above claim", "clean"),
        ("below claim", "flagged"),
        ("inconclusive", "unresolved"),
        ("setting not reproduced", "unresolved"),
    ]:
        assert status_and_headline({"arc_easy": sec(0.5, 50, label)}, True, [])[0] == expected, label
    # a flag stands whatever else is unresolved; a claim not checked leaves the record unresolved
    both = {"arc_easy": sec(0.5, 50, "inconclusive"), "gsm8k": sec(0.1, 90, "below claim")}
    assert status_and_headline(both, True, [])[0] == "flagged"
    status, line = status_and_headline({"arc_easy": sec(0.5, 50, "reproduced")}, True, ["mmlu"])
    assert status == "unresolved" and line.endswith("Claims not checked (not in --benchmarks): mmlu.")
    assert status_and_headline({"arc_easy": sec(0.5)}, False, [])[1].startswith(
        "No claims given; arc_easy measured"
    )


def test_markdown_escapes_claim_text():
    m = measure([1.0, 0.0]).to_dict()
    report = {
        "status": "clean",
        "headline": "h",
        "model": {"name": "m", "backend": "hf", "lm_eval_model": "hf", "identity": {}},
        "settings": {
            "seed": 1,
            "limit": None,
            "limit_semantics": "x",
            "files": {"items": "i", "lm_eval_tasks": "t"},
        },
        "versions": {"lm_eval": "0.4.13"},
        "benchmarks": {
            "arc_easy": {
                "title": "ARC-Easy",
                "setting": {"metric": "acc_norm", "filter": "none", "n_shot": 0},
                "lm_eval": {"num_fewshot": 0},
                "measurement": m,
                "claim": {"value": 60.0, "source": "<script>x</script> | a"},
                "claim_test": None,
                "verdict": {"label": "inconclusive", "reasons": ["too few items"]},
                "ceiling": None,
                "ceiling_note": "none",
                "contamination": None,
                "data": {
                    "split": "test",
                    "items_in_copy": 2376,
                    "complete": True,
                    "limited": True,
                    "selection": {"method": "first_n", "description": "first 2 items (--limit)"},
                    "content_sha256": "0" * 64,
                    "source": {"kind": "bundled"},
                },
            }
        },
    }
    md = render_markdown(report)
    assert "&lt;script&gt;x&lt;/script&gt; \\| a" in md and "<script>" not in md
    assert "**Verdict: inconclusive.**" in md
    assert rows(report)[0]["n"] == "2 of 2376 (limit)"


def test_sample_sizes_per_benchmark_are_checked_before_any_model_loads(tmp_path):
    from harness.verify import run_verify
    from harness.verify.runner import VerifyError

    common = {"model": "nonexistent-model", "backend": "hf", "out_dir": tmp_path, "benchmarks": ["arc_easy"]}
    with pytest.raises(VerifyError, match=r"sample sizes given for \['gsm8k'\]"):
        run_verify(**common, sample={"default": 5, "gsm8k": 2})
    with pytest.raises(VerifyError, match="sample gsm8k must be a positive"):
        run_verify(**common, sample={"gsm8k": 0})
    with pytest.raises(VerifyError, match="not both"):
        run_verify(**common, sample={"arc_easy": 3}, limit=2)


def test_clean_from_an_incomplete_or_failed_scan_is_never_read_as_clean(tmp_path):
    """A leakage.json whose scan did not read everything: its "clean" items are only "not found in what
    was read", and the clean-versus-dirty note says so; a failed scan's file is refused."""
    import json

    from harness.leakage.scan import run_scan
    from harness.verify.runner import VerifyError, _read_leakage, mark_incomplete_scan

    (tmp_path / "ok.jsonl").write_text('{"text": "nothing from any test set"}\n', encoding="utf-8")
    (tmp_path / "bad.parquet").write_text("not a parquet file", encoding="utf-8")
    run_scan(
        [str(tmp_path / "ok.jsonl"), str(tmp_path / "bad.parquet")],
        out_dir=tmp_path / "s",
        benchmarks=["arc_easy"],
    )
    dirty, info = _read_leakage(tmp_path / "s" / "leakage.json")
    assert info["scan_status"] == "incomplete" and dirty == set()
    arc = load_benchmark("arc_easy")
    records = [{"item_id": it.item_id, "correct": 1} for it in arc.items[:4]]
    section = {"contamination": contamination_section("arc_easy", records, None, dirty)}
    mark_incomplete_scan(section, info)
    assert section["contamination"]["note"].startswith("the scan was INCOMPLETE")
    complete = {"contamination": contamination_section("arc_easy", records, None, dirty)}
    mark_incomplete_scan(complete, {**info, "scan_status": "clean"})
    assert "INCOMPLETE" not in complete["contamination"]["note"]

    failed = json.loads((tmp_path / "s" / "leakage.json").read_text())
    failed["status"] = "failed"
    (tmp_path / "failed.json").write_text(json.dumps(failed), encoding="utf-8")
    with pytest.raises(VerifyError, match=r"failed\.json: the scan failed"):
        _read_leakage(tmp_path / "failed.json")
