import numpy as np
import pytest

from harness.contamination.gsm8k_twins import TwinError
from harness.contamination.mc_twins import mc_twins, options_of, order_problem, render_mc, with_order
from harness.contamination.twins import make_twins
from harness.data import load_benchmark

ARC = {
    "id": "x1",
    "question": "Which is a mammal?",
    "choices": {"text": ["shark", "whale", "trout", "eel"], "label": ["A", "B", "C", "D"]},
    "answerKey": "B",
}


def test_key_follows_its_option_in_every_schema():
    order = [3, 1, 0, 2]
    arc = with_order("arc_challenge", ARC, order)
    assert arc["choices"]["text"] == ["eel", "whale", "shark", "trout"]
    assert arc["answerKey"] == "B" and arc["choices"]["label"] == ["A", "B", "C", "D"]
    mmlu = with_order(
        "mmlu", {"question": "q", "subject": "s", "choices": ["a", "b", "c", "d"], "answer": 2}, order
    )
    assert mmlu["choices"][mmlu["answer"]] == "c"
    hs = with_order(
        "hellaswag", {"activity_label": "x", "ctx": "y", "endings": ["a", "b", "c", "d"], "label": "0"}, order
    )
    assert hs["endings"][int(hs["label"])] == "a"


def test_orders_are_distinct_and_never_the_published_one():
    orders = mc_twins("arc_challenge", ARC, np.random.default_rng(0), 5)
    assert len({tuple(o) for o in orders}) == 5
    assert [0, 1, 2, 3] not in orders


@pytest.mark.parametrize(
    "options",
    [
        ["1", "2", "3", "4"],
        ["10 m", "20 m", "30 m", "40 m"],
        ["red", "blue", "All of the above", "green"],
        ["A and B", "C", "D", "E"],
        ["True, True", "False, False", "True, False", "False, True"],
        ["same", "same", "x", "y"],
    ],
)
def test_options_with_a_meaningful_order_are_left_out(options):
    assert order_problem(options) is not None
    with pytest.raises(TwinError):
        mc_twins(
            "mmlu",
            {"question": "q", "subject": "s", "choices": options, "answer": 0},
            np.random.default_rng(0),
            1,
        )


def test_render_mc_letters_options_and_answer():
    options, gold = options_of("arc_challenge", ARC)
    assert render_mc(ARC["question"], options, gold).splitlines() == [
        "Which is a mammal?",
        "A. shark",
        "B. whale",
        "C. trout",
        "D. eel",
        "Answer: B",
    ]


def test_real_sets_get_twins_with_keys_that_follow():
    for name in ("arc_challenge", "mmlu", "hellaswag"):
        bs = load_benchmark(name)
        ts = make_twins(bs, seed=3, k=2, rows=list(range(0, len(bs), len(bs) // 60))[:60])  # across subjects
        assert len(ts.rows) >= 40, ts.coverage()
        assert ts.coverage()["left_out"] == 60 - len(ts.rows)
        for j in range(2):
            twin_set = ts.version_set(bs, j)
            for r, item in zip(ts.rows, twin_set.items, strict=True):
                assert item.item_id == bs.items[r].item_id
                assert item.answer == bs.items[r].answer  # same correct text, wherever it moved
                assert item.choices != bs.items[r].choices
