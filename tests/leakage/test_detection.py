"""Detection on the real test sets: planted items in the shapes leaks take are found; GSM8K train is
flagged only where it really shares text with GSM8K test (cross-checked with lm-eval's own Janitor);
generic pages are not flagged."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import orjson
import pytest

from harness.leakage import run_scan
from harness.leakage.normalize import words
from tests.leakage.corpora import FILLER, SHARED, dirty_ids, page, write_jsonl

ROOT = Path(__file__).resolve().parents[2]
# GSM8K train problems sharing a run of 13+ normalised words with a GSM8K test problem (test item: train
# rows). Three share question text (templated problems), six share solution phrasing with its arithmetic.
GSM8K_TRAIN_SHARES = {
    "gsm8k/test/18": [5003],
    "gsm8k/test/212": [2049],
    "gsm8k/test/581": [406],
    "gsm8k/test/602": [1314, 5162],
    "gsm8k/test/632": [20],
    "gsm8k/test/704": [5456],
    "gsm8k/test/712": [6841],
    "gsm8k/test/806": [699],
    "gsm8k/test/1141": [5258],
}


def lettered(choices, style="{L}) {c}") -> str:
    return "\n".join(style.format(L="ABCDE"[i], l="abcde"[i], c=c) for i, c in enumerate(choices))


@pytest.fixture(scope="module")
def planted(sets, tmp_path_factory):
    """One web page per planted item, each in a different shape."""
    gsm, mmlu, arc_c, arc_e, hs = (
        sets[n] for n in ("gsm8k", "mmlu", "arc_challenge", "arc_easy", "hellaswag")
    )
    pages: dict[str, str] = {}
    g = gsm.items[42]  # verbatim question and solution inside a long page
    pages[g.item_id] = page(f"Question: {g.question}\nAnswer: {g.answer}", filler=40)
    g = gsm.items[1000]  # upper case, a line break every few words
    w = g.question.upper().split()
    pages[g.item_id] = page("\n".join(" ".join(w[i : i + 4]) for i in range(0, len(w), 4)))
    g = gsm.items[77]  # only the first half of the question, collapsed whitespace, a template around it
    pages[g.item_id] = page(
        "Problem 3 >> " + " ".join(g.question.split()[: max(14, len(g.question.split()) // 2)]) + " ..."
    )
    g = gsm.items[900]  # the solution alone, without its calculator annotations, as a forum post
    pages[g.item_id] = page("Solution (posted by a user):\n" + re.sub(r"<<[^>]*>>", "", g.answer))
    a = arc_c.items[7]  # quiz template, choices as "A) ..."
    pages[a.item_id] = page(f"Q: {a.question}\n{lettered(a.choices)}\nCorrect answer: C")
    a = next(
        it
        for it in arc_e.items
        if 8 <= len(words(it.question)) <= 12 and all(len(words(c)) < 8 for c in it.choices)
    )
    pages[a.item_id] = page(
        f"{a.question.upper()}\n{lettered(a.choices, '({l}) {c}')}"
    )  # short question + its options
    m = mmlu.items[2000]  # exam-prep page
    pages[m.item_id] = page(m.question + "\n" + lettered(m.choices, "({l}) {c}"))
    m = next(it for it in mmlu.items if len(words(it.question)) > 30)  # the question cut to its first part
    pages[m.item_id] = page(" ".join(m.question.split()[:16]))
    h = hs.items[100]  # a short context alone, cut before the endings
    pages[h.item_id] = page(hs.rows[h.row]["ctx"])
    h = next(it for it in hs.items if len(words(hs.rows[it.row]["ctx"])) > 25)  # a long context, lower case
    pages[h.item_id] = page(hs.rows[h.row]["ctx"].lower() + " " + h.answer)
    root = tmp_path_factory.mktemp("planted")
    write_jsonl(
        root / "web.jsonl.zst",
        [{"url": f"u{i}", "text": t} for i, t in enumerate(pages.values())],
        compress="zst",
    )
    return root, list(pages)


def test_planted_items_are_found_in_every_shape(planted, index, tmp_path) -> None:
    root, ids = planted
    rec = run_scan([str(root)], out_dir=tmp_path, index=index, workers=1)
    assert dirty_ids(rec) == set(ids)
    by_id = {i["item_id"]: i for i in rec["items"]}
    for n, item_id in enumerate(ids):
        assert by_id[item_id]["where"]["record"] == n  # each found in its own page, nowhere else
        assert by_id[item_id]["excerpt"]


def test_generic_pages_are_not_flagged(index, tmp_path) -> None:
    generic = [
        "Which is a mammal? A) shark B) whale C) trout D) eel. Which of these is a mammal? The whale.",
        "How many books are in the New Testament? There are 27 books in the New Testament.",
        "What is the capital of France? Paris. True or false: the Sun is a star. True.",
        "Which of the following is a renewable resource? Wind, solar and water power are renewable.",
        "How much money will she have left? How many more apples does he need? What is the total cost?",
        "Read the passage and answer the questions that follow. Choose the best answer. None of the above.",
        FILLER * 30,
    ]
    write_jsonl(tmp_path / "in" / "generic.jsonl", [{"text": page(t)} for t in generic])
    rec = run_scan([str(tmp_path / "in")], out_dir=tmp_path / "out", index=index, workers=1)
    assert rec["status"] == "clean", [i["item_id"] for i in rec["items"] if i["dirty"]]


def test_gsm8k_train_is_flagged_only_where_it_shares_text_with_test(index, sets, tmp_path) -> None:
    train = SHARED / "gsm8k" / "train.jsonl"
    rec = run_scan([str(train)], out_dir=tmp_path, index=index, workers=1)
    assert rec["accounting"]["records_read"] == 7473
    assert dirty_ids(rec) == set(GSM8K_TRAIN_SHARES)
    assert {i["benchmark"] for i in rec["items"]} == {"gsm8k"}
    rows = [orjson.loads(x) for x in train.read_bytes().splitlines()]
    test_items = {it.item_id: it for it in sets["gsm8k"].items}
    for item in rec["items"]:
        first = GSM8K_TRAIN_SHARES[item["item_id"]][0]
        assert item["where"]["line"] == first + 1 and item["records"] == len(
            GSM8K_TRAIN_SHARES[item["item_id"]]
        )
        # Independently of our hashing: the train row and the test item share 13+ consecutive words.
        t = test_items[item["item_id"]]
        train_words = words(rows[first][item["where"]["field"]])
        test_words = [words(t.question), words(t.answer)]
        assert _longest_common_run(train_words, test_words) == item["longest_match"] >= 13


def _longest_common_run(a: list[str], segments: list[list[str]]) -> int:
    best = 0
    for b in segments:
        prev = [0] * (len(b) + 1)
        for x in a:
            cur = [0] * (len(b) + 1)
            for j, y in enumerate(b):
                if x == y:
                    cur[j + 1] = prev[j] + 1
                    best = max(best, cur[j + 1])
            prev = cur
    return best


def test_lm_eval_janitor_flags_a_subset_of_the_same_train_records(sets) -> None:
    """lm-eval's Janitor (13-grams, punctuation deleted rather than split) finds the train rows whose shared
    text has no arithmetic in it; we find those and the rest (our rule splits "3*7=21" into words)."""
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        from lm_eval.decontamination.janitor import Janitor, word_ngrams_indices
    janitor = Janitor()
    for it in sets["gsm8k"].items:
        janitor.register_contaminant_python(it.question)
        janitor.register_contaminant_python(it.answer)
    flagged = set()
    for row, line in enumerate((SHARED / "gsm8k" / "train.jsonl").read_bytes().splitlines()):
        r = orjson.loads(line)
        for field in ("question", "answer"):
            if any(
                janitor.normalize_string(g) in janitor.dirt_ngrams
                for g, _ in word_ngrams_indices(r[field], 13)
            ):
                flagged.add(row)
    ours = {row for rows in GSM8K_TRAIN_SHARES.values() for row in rows}
    assert flagged and flagged <= ours


def test_demo_corpus_planted_items(index, tmp_path) -> None:
    demo = ROOT / "audits" / "demo" / "corpus.jsonl.zst"
    if not demo.exists():
        pytest.skip("the demo corpus is not in this checkout")
    planted = [
        line.split("`")[1]
        for line in (demo.parent / "PLANTED.md").read_text().splitlines()
        if line.startswith("- `")
    ]
    rec = run_scan([str(demo)], out_dir=tmp_path, index=index, workers=1)
    found = dirty_ids(rec)
    assert set(planted) <= found
    assert found - set(planted) <= set(GSM8K_TRAIN_SHARES)  # the rest: GSM8K train sharing text with test
