"""The matching core on real items: reformatting, cutting, verification, the evidence rule."""

from __future__ import annotations

import copy
import random

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.leakage.hashing import ngram_hash, word_code
from harness.leakage.index import key_lookup
from harness.leakage.matcher import match_texts
from harness.leakage.normalize import words
from tests.leakage.corpora import FILLER, page, real_index, real_sets
from tests.leakage.test_index import arc_set


def pos(index, item_id: str) -> int:
    return next(i for i, it in enumerate(index.items) if it.item_id == item_id)


def evidence_for(index, texts, item_id):
    m = match_texts(texts, index)
    return [e for e in m.evidence if e.item == pos(index, item_id)]


SEPARATORS = [" ", "  ", "\n", " \n ", "\t", ", ", " - ", "...", " | ", "\r\n"]


def reformat(text: str, rng: random.Random) -> str:
    """Same words, different surface: case, whitespace, line breaks and punctuation between words."""
    out = []
    for w in text.split():
        w = w.upper() if rng.random() < 0.3 else w.lower() if rng.random() < 0.5 else w
        out.append(w + rng.choice(SEPARATORS))
    return "".join(out)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 1318), st.integers(0, 2**32 - 1))
def test_reformatted_gsm8k_question_inside_a_page_is_found(row: int, seed: int) -> None:
    index, item = real_index(), real_sets()["gsm8k"].items[row]
    text = page("Homework help:", reformat(item.question, random.Random(seed)))
    ev = evidence_for(index, [FILLER, text], item.item_id)
    assert len(ev) == 1 and ev[0].qualifying and ev[0].text == 1
    seg = index.segments[ev[0].segment]
    assert seg.field == "question" and ev[0].longest == seg.n_words


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 10041), st.integers(14, 40))
def test_first_part_of_a_long_hellaswag_item_is_found(row: int, cut: int) -> None:
    index, hs = real_index(), real_sets()["hellaswag"]
    item = hs.items[row]
    ctx_words = hs.rows[item.row]["ctx"].split()
    ending_words = item.choices[0].split()
    text = " ".join(ctx_words + ending_words)
    first = " ".join(text.split()[:cut])
    ev = evidence_for(index, [page(first)], item.item_id)
    # The cut keeps 14+ words: a 13-gram of the context, or a whole context of 8+ words, is in it.
    assert ev and ev[0].qualifying


def test_windows_never_span_two_texts(index, sets) -> None:
    q = sets["gsm8k"].items[3].question.split()
    half = len(q) // 2
    m = match_texts([" ".join(q[:half]), " ".join(q[half:])], index)
    assert all(e.longest <= max(half, len(q) - half) for e in m.evidence)
    joined = match_texts([" ".join(q)], index)
    assert any(e.longest == len(q) for e in joined.evidence)


def test_filler_and_generic_questions_find_nothing(index) -> None:
    generic = (
        "Which is a mammal? Which of these is a mammal? How many books are in the New Testament? "
        "What is the capital of France? How often does Earth rotate on its axis? True or false? "
        "Which of the following is a renewable resource? The answer is 4. None of the above."
    )
    m = match_texts([FILLER * 20, generic * 5], index)
    assert not [e for e in m.evidence if e.qualifying]


def test_short_question_needs_its_choices(index, sets) -> None:
    # An ARC question of 8-12 words, alone, is a common phrase; with two of its options it is the item.
    arc = sets["arc_easy"]
    item = next(
        it
        for it in arc.items
        if 8 <= len(words(it.question)) <= 10 and all(len(words(c)) < 8 for c in it.choices)
    )
    alone = evidence_for(index, [page(item.question)], item.item_id)
    assert alone and not alone[0].qualifying and alone[0].longest == len(words(item.question))
    one_choice = evidence_for(index, [page(item.question + " " + item.choices[0])], item.item_id)
    assert not one_choice[0].qualifying
    lettered = "\n".join(f"{'ABCD'[i]}) {c}" for i, c in enumerate(item.choices))
    quiz = evidence_for(index, [page(f"Q: {item.question}\n{lettered}\nAnswer: A")], item.item_id)
    assert quiz and quiz[0].qualifying


def test_short_hellaswag_context_stands_alone(index, sets) -> None:
    hs = sets["hellaswag"]
    item = hs.items[100]
    ev = evidence_for(index, [page(hs.rows[item.row]["ctx"])], item.item_id)
    assert ev and ev[0].qualifying and ev[0].longest == 10


def test_stock_phrasing_alone_does_not_make_an_item_dirty() -> None:
    from harness.leakage.index import build_index

    stock = "Read the argument below carefully and then decide whether it is valid or invalid in logic"
    rows = [
        {"q": f"{stock}. Argument {i}: if it rains the {w} get wet.", "c": ["valid", "invalid"]}
        for i, w in enumerate("abcdef")
    ]
    idx = build_index([arc_set(rows)])
    m = match_texts([page(stock)], idx)
    assert len({e.item for e in m.evidence}) == 6 and not any(e.qualifying for e in m.evidence)
    m = match_texts([page(rows[3]["q"])], idx)
    assert [e.item for e in m.evidence if e.qualifying] == [3]


def test_content_shared_by_a_few_items_counts_for_each() -> None:
    from harness.leakage.index import build_index

    passage = (
        "The charter of privileges granted by William Penn to the inhabitants of Pennsylvania and territories"
    )
    rows = [{"q": f"{passage}. Question {i}?", "c": ["yes", "no"]} for i in range(2)]
    idx = build_index([arc_set(rows)])
    m = match_texts([page(passage)], idx)
    assert sorted(e.item for e in m.evidence if e.qualifying) == [0, 1]


def test_a_hash_collision_never_makes_a_finding() -> None:
    from harness.leakage.index import build_index

    q = "one two three four five six seven eight nine ten eleven twelve thirteen fourteen"
    idx = build_index([arc_set([{"q": q, "c": ["x", "y"]}])])
    other = [
        "alpha",
        "beta",
        "gamma",
        "delta",
        "epsilon",
        "zeta",
        "eta",
        "theta",
        "iota",
        "kappa",
        "lambda",
        "mu",
        "nu",
    ]
    fake = ngram_hash([word_code(w.encode()) for w in other])
    forged = copy.deepcopy(idx)
    forged.keys[13] = np.sort(np.concatenate((forged.keys[13][1:], np.array([fake], np.uint64))))
    order = np.argsort(np.concatenate((idx.keys[13][1:], np.array([fake], np.uint64))), kind="stable")
    forged.gids[13] = np.concatenate((idx.gids[13][1:], idx.gids[13][:1]))[order]
    forged.tables[13] = key_lookup(forged.keys[13])
    m = match_texts([" ".join(other)], forged)
    assert m.candidates >= 1  # the forged key was found by the key lookup ...
    assert m.evidence == [] and m.units.size == 0  # ... and word-by-word verification threw it out


def test_units_found_are_unique_and_sorted(index, sets) -> None:
    q = sets["gsm8k"].items[5].question
    m = match_texts([q, q, q.upper()], index)
    assert np.all(np.diff(m.units) > 0)
    seg = index.items[pos(index, "gsm8k/test/5")].segments[0]
    assert set(np.flatnonzero(index.unit_segment == seg).tolist()) <= set(m.units.tolist())
