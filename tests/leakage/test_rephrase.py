"""`--rephrased`: items rewritten in other words are found by the second stage, reported apart from n-gram
matches with their scores; GSM8K's own train problems (same style, other problems) are not flagged.
(scripts/scan_rephrased.py measures recall and false alarms on every item; docs/scan.md has the figures.)"""

from __future__ import annotations

import random

import pytest

from harness.leakage import run_scan
from harness.leakage.core import rephrase_index
from harness.leakage.normalize import word_bytes
from harness.leakage.rephrase import accept, all_present, content_words, find_rephrased, in_order, numbers
from tests.leakage.corpora import FILLER, comparable, dirty_ids, page, write_jsonl

# GSM8K test item 0 ("Janet's ducks lay 16 eggs per day ...") and ARC-Easy item 9, rewritten by hand.
JANET = (
    "Every day, the ducks that belong to Janet produce 16 eggs. She has three of them for breakfast each "
    "morning and uses four to bake muffins for her friends daily. The remainder she sells at the farmers' "
    "market for $2 per fresh duck egg. What amount of money, in dollars, does she make every day there?"
)


def test_numbers_and_content_words() -> None:
    assert numbers(word_bytes("It costs $1,000 or 2.5 kg; 3 of 40 apples")) == [1000, 2, 5, 3, 40]
    assert in_order([16, 3, 4, 2], [16, 3, 4, 2]) == 1.0 and in_order([16, 3, 4, 2], [2, 16, 3, 4]) == 0.75
    assert all_present([3, 3, 60], [60, 3, 1, 3]) and not all_present([3, 3, 60], [60, 3])
    assert content_words(word_bytes("How many of the ducks lay 16 eggs")) == [
        b"ducks",
        b"lay",
        b"16",
        b"eggs",
    ]
    assert accept(90, [], None, 0.95) and not accept(90, [], None, 0.5)
    assert accept(72, [16, 3, 4], True, 0.5) and not accept(72, [1, 3, 4], True, 0.5)  # one number > 12
    assert not accept(72, [16, 3, 4], False, 0.5) and not accept(60, [16, 3, 4], True, 0.5)


def test_a_rephrased_problem_is_found_and_its_train_neighbours_are_not(index, sets) -> None:
    rindex = rephrase_index(index)
    janet = next(i for i, it in enumerate(index.items) if it.item_id == "gsm8k/test/0")
    found = find_rephrased([FILLER, FILLER + "\n\n" + JANET + "\n\n" + FILLER], rindex)
    assert [(m.text, m.item) for m in found] == [(1, janet)]
    assert found[0].numbers_present and found[0].score >= 70
    rng = random.Random(4)
    train = rng.sample(list(sets["gsm8k_train"].items), 400) if "gsm8k_train" in sets else None
    if train is None:
        from harness.data import load_benchmark

        train = rng.sample(list(load_benchmark("gsm8k", "train").items), 400)
    texts = [it.question + "\n" + it.answer for it in train]
    flagged = [
        index.items[m.item].item_id
        for s in range(0, 400, 100)
        for m in find_rephrased(texts[s : s + 100], rindex)
    ]
    assert flagged == []


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, sets):
    root = tmp_path_factory.mktemp("rephrased")
    arc = sets["arc_easy"].items[9]
    verbatim = sets["gsm8k"].items[5]
    pages = [{"text": page(f"Note {i}.")} for i in range(40)]
    pages[3]["text"] = page(JANET)
    pages[17]["text"] = page(verbatim.question + " " + verbatim.answer)
    pages[29]["text"] = page(JANET.replace("16 eggs", "16 fresh eggs"))  # a second place, lower ranked
    write_jsonl(root / "web.jsonl", pages)
    return root, arc, verbatim


def test_scan_reports_rephrased_items_apart(corpus, index, tmp_path) -> None:
    root, _, verbatim = corpus
    rec = run_scan([root], out_dir=tmp_path / "a", index=index, workers=1, rephrased=True)
    assert rec["status"] == "leak" and dirty_ids(rec) == {verbatim.item_id}
    reph = rec["rephrased"]
    assert [r["item_id"] for r in reph] == ["gsm8k/test/0"]  # the verbatim one is not listed again
    r = reph[0]
    assert r["records"] == 2 and r["where"]["record"] in (3, 29) and r["numbers_present"] is True
    assert r["score"] >= 70 and "Janet" in r["excerpt"]
    assert rec["benchmarks"]["gsm8k"]["rephrased"] == 1 and rec["config"]["rephrased"]["rule_version"] == 1
    assert "1 more item(s) were found rephrased" in rec["headline"]
    summary = (tmp_path / "a" / "summary.md").read_text()
    assert "## Rephrased items (1)" in summary and "gsm8k/test/0" in summary
    sharded = run_scan(
        [root], out_dir=tmp_path / "b", index=index, workers=1, rephrased=True, shard_bytes=8192
    )
    assert sharded["execution"]["shards"] > 3 and comparable(sharded) == comparable(rec)
    plain = run_scan([root], out_dir=tmp_path / "c", index=index, workers=1)
    assert "rephrased" not in plain and "rephrased" not in plain["benchmarks"]["gsm8k"]
    assert plain["items"] == rec["items"]


def test_rephrased_alone_is_a_leak(index, tmp_path) -> None:
    write_jsonl(tmp_path / "c.jsonl", [{"text": page(JANET)}, {"text": page("x")}])
    rec = run_scan([tmp_path / "c.jsonl"], out_dir=tmp_path / "o", index=index, workers=1, rephrased=True)
    assert rec["status"] == "leak" and not dirty_ids(rec) and len(rec["rephrased"]) == 1
    assert rec["headline"].startswith("No test item was found verbatim")
