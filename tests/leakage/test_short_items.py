"""Short multiple-choice items written with other option labels: found, however short the question, when
the question and its options are there; not flagged when a page merely shares the question.
(scripts/scan_short_items.py measures the same on every item; docs/scan.md has its figures.)"""

from __future__ import annotations

import random

import pytest

from harness.leakage.matcher import LABEL_WORDS, match_texts
from harness.leakage.normalize import words
from tests.leakage.corpora import FILLER

STYLES = [
    lambda i, c: f"{'ABCDE'[i]}) {c}",
    lambda i, c: f"({'abcde'[i]}) {c}",
    lambda i, c: f"{i + 1}. {c}",
    lambda i, c: f"\u2022 {c}",
    lambda i, c: f"- {c}",
    lambda i, c: f"Option {'ABCDE'[i]}: {c}",
]


def quiz(question: str, choices, style, order, sep: str) -> str:
    options = sep.join(style(j, choices[o]) for j, o in enumerate(order))
    return f"{FILLER}\n\n{question}{sep}{options}{sep}Answer: B\n\n{FILLER}"


def dirty(texts: list[str], index) -> list[set[str]]:
    out: list[set[str]] = [set() for _ in texts]
    for s in range(0, len(texts), 256):
        for e in match_texts(texts[s : s + 256], index).evidence:
            if e.qualifying:
                out[s + e.text].add(index.items[e.item].item_id)
    return out


@pytest.fixture(scope="module")
def short_items(sets):
    """Every ARC item with a question under 8 words, and a sample of MMLU's (the brief rule's items)."""
    rng = random.Random(5)
    arc = [
        it for n in ("arc_challenge", "arc_easy") for it in sets[n].items if 3 <= len(words(it.question)) < 8
    ]
    mmlu = [it for it in sets["mmlu"].items if 3 <= len(words(it.question)) < 13]
    return arc + rng.sample(mmlu, 150)


def test_relettered_short_items_are_found_in_every_label_style(short_items, index) -> None:
    rng = random.Random(7)
    texts, ids = [], []
    for it in short_items:
        order = list(range(len(it.choices)))
        if rng.random() < 0.5:
            rng.shuffle(order)
        for style in STYLES:
            texts.append(quiz(it.question, it.choices, style, order, rng.choice(["\n", " "])))
            ids.append(it.item_id)
    found = dirty(texts, index)
    missed = [i for i, f in zip(ids, found, strict=True) if i not in f]
    # Misses: items that repeat an option (ARC-Easy 384, 1447) or whose options are themselves labels
    # ("1", "2", ... under numbered labels): at most 1% of the pages
    assert len(texts) > 1000 and len(missed) <= len(texts) // 100, sorted(set(missed))


def test_the_question_with_other_options_is_not_the_item(short_items, index, sets) -> None:
    """A quiz page that shares the short question but lists other options does not flag it."""
    rng = random.Random(11)
    pool = [it for n in ("arc_challenge", "arc_easy", "mmlu") for it in sets[n].items]
    texts, owners = [], []
    for it in short_items:
        other = rng.choice(pool)
        while set(map(str.lower, other.choices)) & set(map(str.lower, it.choices)):
            other = rng.choice(pool)
        texts.append(quiz(it.question, other.choices, rng.choice(STYLES), range(len(other.choices)), "\n"))
        owners.append(it.item_id)
    flags = dirty(texts, index)
    assert not [o for o, f in zip(owners, flags, strict=True) if o in f]


def test_options_that_look_like_labels_are_not_found_in_the_labels(index, sets) -> None:
    item = next(
        it
        for it in sets["mmlu"].items
        if list(it.choices) == ["1", "2", "3", "4"] and len(words(it.question)) < 13
    )
    other = [
        "appeal to loyalty",
        "reducing to an absurdity",
        "ignorance of refutation",
        "argument against the person",
    ]
    numbered = quiz(item.question, other, STYLES[2], range(4), "\n")  # "1. appeal ...", "2. reducing ..."
    lettered = quiz(item.question, list(item.choices), STYLES[0], range(4), "\n")  # "A) 1", "B) 2", ...
    flags = dirty([numbered, lettered], index)
    assert item.item_id not in flags[0] and item.item_id in flags[1]
    assert {b"a", b"1", b"iv", b"option"} <= LABEL_WORDS and b"whale" not in LABEL_WORDS


def test_only_labels_may_stand_between_a_question_and_its_options(index, sets) -> None:
    it = next(it for it in sets["arc_easy"].items if 4 <= len(words(it.question)) < 8)
    ok = f"{it.question}\n" + "\n".join(f"({c}) {t}" for c, t in zip("abcd", it.choices, strict=False))
    far = f"{it.question}\nSee also our page about\n" + "\n".join(it.choices)  # prose between: not the item
    flags = dirty([FILLER + ok + FILLER, FILLER + far + FILLER], index)
    assert it.item_id in flags[0] and it.item_id not in flags[1]
