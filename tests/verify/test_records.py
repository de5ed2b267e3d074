"""Per-item records from lm-eval samples, and re-scoring subsets from the Parquet file alone."""

from __future__ import annotations

import pytest

from harness.data import load_benchmark
from harness.verify.records import RecordError, build_records, read_records, rescore, write_records
from harness.verify.statistics import measure


def mc_sample(bs, row: int, doc_id: int, lls: list[float], gold: int) -> dict:
    doc = bs.rows[row]
    choices = list(doc["choices"]["text"])
    pred = max(range(len(lls)), key=lambda i: lls[i])
    norm = [ll / len(c) for ll, c in zip(lls, choices, strict=True)]
    pred_norm = max(range(len(norm)), key=lambda i: norm[i])
    return {
        "doc_id": doc_id,
        "doc": doc,
        "target": gold,
        "arguments": [[f"Question: {doc['question']}\nAnswer:", " " + c] for c in choices],
        "resps": [[[ll, False]] for ll in lls],
        "filtered_resps": [[ll, False] for ll in lls],
        "filter": "none",
        "metrics": ["acc", "acc_norm"],
        "acc": float(pred == gold),
        "acc_norm": float(pred_norm == gold),
    }


def test_multiple_choice_records_map_docs_to_item_ids():
    bs = load_benchmark("arc_easy")
    gold0 = bs.items[3].gold
    # doc 0 is our row 3; the longest choice wins on raw log-likelihood but not once normalised
    lls = [-8.0, -9.0, -9.5, -10.0]
    samples = {
        "harness_arc_easy": [mc_sample(bs, 3, 0, lls, gold0), mc_sample(bs, 7, 1, [-1, -5, -5, -5], 0)]
    }
    records = build_records(bs, samples, {"harness_arc_easy": [3, 7]}, {"harness_arc_easy": None}, "acc,none")
    assert [r["item_id"] for r in records] == [bs.items[3].item_id, bs.items[7].item_id]
    assert records[0]["extracted"] == "0" and records[0]["correct"] == float(gold0 == 0)
    assert records[1]["extracted"] == "0"
    norm = build_records(
        bs, samples, {"harness_arc_easy": [3, 7]}, {"harness_arc_easy": None}, "acc_norm,none"
    )
    assert norm[0]["correct"] == samples["harness_arc_easy"][0]["acc_norm"]


def test_a_doc_that_does_not_match_our_row_is_an_error():
    bs = load_benchmark("arc_easy")
    samples = {"harness_arc_easy": [mc_sample(bs, 3, 0, [-1, -2, -3, -4], 0)]}
    with pytest.raises(RecordError, match="does not match"):
        build_records(bs, samples, {"harness_arc_easy": [4]}, {"harness_arc_easy": None}, "acc,none")
    with pytest.raises(RecordError, match="no samples for task"):
        build_records(bs, {}, {"harness_arc_easy": [3]}, {"harness_arc_easy": None}, "acc,none")
    with pytest.raises(RecordError, match="beyond the 0 rows"):
        build_records(bs, samples, {"harness_arc_easy": []}, {"harness_arc_easy": None}, "acc,none")


def gsm8k_samples(bs, rows: list[int], answers: list[str]) -> list[dict]:
    out = []
    for doc_id, (row, answer) in enumerate(zip(rows, answers, strict=True)):
        doc = bs.rows[row]
        gold = doc["answer"].rsplit("####", 1)[-1].strip()
        for filt, extracted in (("strict-match", "[invalid]"), ("flexible-extract", answer)):
            out.append(
                {
                    "doc_id": doc_id,
                    "doc": doc,
                    "target": doc["answer"],
                    "arguments": [[f"Question: {doc['question']}\nAnswer:", {"until": ["Question:"]}]],
                    "resps": [[f"The answer is {answer}."]],
                    "filtered_resps": [extracted],
                    "filter": filt,
                    "metrics": ["exact_match"],
                    "exact_match": float(extracted == gold),
                }
            )
    return out


def test_generation_records_keep_every_filter_and_rescore(tmp_path):
    bs = load_benchmark("gsm8k")
    golds = [bs.items[i].gold for i in range(4)]
    answers = [golds[0], "1", golds[2], golds[3]]  # 3 of 4 right under flexible-extract
    samples = {"harness_gsm8k": gsm8k_samples(bs, [0, 1, 2, 3], answers)}
    records = build_records(
        bs, samples, {"harness_gsm8k": [0, 1, 2, 3]}, {"harness_gsm8k": None}, "exact_match,strict-match"
    )
    assert [r["correct"] for r in records] == [0.0] * 4
    assert records[0]["extracted"] == "[invalid]"
    path = tmp_path / "items.parquet"
    write_records(path, records)
    frame = read_records(path)
    assert list(frame["item_id"]) == [f"gsm8k/test/{i}" for i in range(4)]

    everything = rescore(path)
    assert everything["gsm8k"]["measurement"]["score"] == 0.0
    flexible = rescore(path, metric_key="exact_match,flexible-extract")
    assert flexible["gsm8k"]["measurement"] == measure([1, 0, 1, 1]).to_dict()
    subset = rescore(path, ["gsm8k/test/1", "gsm8k/test/2"], metric_key="exact_match,flexible-extract")
    assert subset["gsm8k"]["n"] == 2 and subset["gsm8k"]["measurement"]["score"] == 0.5
    with pytest.raises(RecordError, match="not in"):
        rescore(path, ["gsm8k/test/99"])
    with pytest.raises(RecordError, match="was not recorded"):
        rescore(path, metric_key="acc,none")
