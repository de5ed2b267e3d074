"""The test-set index: segments, variants, the length rule, shared n-grams, keys, pickling."""

from __future__ import annotations

import pickle

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.data import BenchmarkSet, SourceInfo
from harness.data.items import build_items
from harness.leakage.hashing import ngram_hash, word_code
from harness.leakage.index import BOILERPLATE_ITEMS, build_index, key_lookup, lookup_windows


def arc_set(rows: list[dict]) -> BenchmarkSet:
    full = [
        {
            "id": f"Q{i}",
            "question": r["q"],
            "choices": {"text": r["c"], "label": list("ABCD")[: len(r["c"])]},
            "answerKey": "A",
        }
        for i, r in enumerate(rows)
    ]
    return BenchmarkSet(
        "arc_easy", "test", tuple(full), build_items("arc_easy", "test", full), SourceInfo("local", "test")
    )


def test_gsm8k_items_have_question_solution_and_plain_solution(index) -> None:
    item = index.items[0]
    assert item.item_id == "gsm8k/test/0"
    segs = [index.segments[s] for s in item.segments]
    assert [s.field for s in segs] == ["question", "answer", "answer (plain)"]
    answer, plain = segs[1], segs[2]
    assert plain.group == item.segments[1] and answer.group == item.segments[1]
    assert b"16 3 4 9 9" in answer.text and b"16 3 4 9" in plain.text and b"9 9" not in plain.text


def test_hellaswag_indexes_the_context_without_the_activity_label(index, sets) -> None:
    hs = sets["hellaswag"]
    i = next(i for i, it in enumerate(index.items) if it.item_id == hs.items[100].item_id)
    first = index.segments[index.items[i].segments[0]]
    assert first.field == "ctx"
    assert first.text == b"a bottle of deep cleansing gel is shown a woman"


def test_length_rule_and_undetectable_items() -> None:
    idx = build_index(
        [
            arc_set(
                [
                    {
                        "q": "Which planet in our solar system is closest to the Sun and has no moons at all?",
                        "c": ["Mercury", "Venus"],
                    },
                    {"q": "Which of the following is a renewable resource?", "c": ["coal", "wind"]},
                    {"q": "Which is a mammal?", "c": ["a whale", "a shark"]},
                    {"q": "Which is a mammal?", "c": ["whale", "shark"]},
                    {"q": "A mammal?", "c": ["a whale swims in the sea", "a shark"]},
                ]
            )
        ]
    )
    long_q, short_q, brief_q, tiny_q, two_q = (idx.segments[idx.items[i].segments[0]] for i in range(5))
    assert long_q.n_words == 17 and long_q.units == 17 - 13 + 1
    assert short_q.n_words == 8 and short_q.units == 1
    # brief: a question of 3-7 words that makes 8 words with its options is indexed whole (found only
    # with all its options next to it); with fewer words in all, or under 3 words, it is not
    assert brief_q.n_words == 4 and brief_q.units == 1
    assert tiny_q.units == 0 and two_q.units == 0
    assert [it.detectable for it in idx.items] == [True, True, True, False, False]
    # The short question is probed through an 8-word anchor and must match over all its words.
    short_units = np.flatnonzero(idx.unit_segment == idx.items[1].segments[0])
    assert idx.unit_len[short_units].tolist() == [8] and 8 in idx.keys
    brief_units = np.flatnonzero(idx.unit_segment == idx.items[2].segments[0])
    assert idx.unit_len[brief_units].tolist() == [4] and 3 in idx.keys


def test_keys_are_sorted_and_point_at_their_units() -> None:
    idx = build_index(
        [
            arc_set(
                [
                    {
                        "q": "one two three four five six seven eight nine ten eleven twelve thirteen fourteen",
                        "c": ["x", "y"],
                    }
                ]
            )
        ]
    )
    keys, gids = idx.keys[13], idx.gids[13]
    assert np.all(keys[:-1] <= keys[1:])
    words = b"one two three four five six seven eight nine ten eleven twelve thirteen fourteen".split()
    expected = {ngram_hash([word_code(w) for w in words[i : i + 13]]) for i in range(2)}
    assert set(keys.tolist()) == expected
    assert sorted(idx.unit_pos[gids].tolist()) == [0, 1]


def test_ngrams_of_six_items_are_stock_phrasing_and_of_two_are_content() -> None:
    q = "Which property of a mineral can be determined just by looking at it in bright light"
    idx = build_index(
        [arc_set([{"q": f"{q}, case {i}?", "c": ["luster", "mass"]} for i in range(BOILERPLATE_ITEMS)])]
    )
    common = [np.flatnonzero(idx.unit_segment == idx.items[i].segments[0]) for i in range(BOILERPLATE_ITEMS)]
    for units in common:
        assert idx.unit_shared[units].sum() == units.size - 1  # all but the n-gram that reaches the number
    two = build_index([arc_set([{"q": f"{q}, case {i}?", "c": ["luster", "mass"]} for i in range(2)])])
    assert not two.unit_shared.any()


def test_pickles_as_columns_and_rebuilds_its_tables(index) -> None:
    data = pickle.dumps(index)
    back = pickle.loads(data)
    assert list(back.items)[:50] == list(index.items)[:50] and back.segments[1234] == index.segments[1234]
    for k in index.keys:
        assert np.array_equal(back.keys[k], index.keys[k])
        assert np.array_equal(back.tables[k].offsets, index.tables[k].offsets)
        assert np.array_equal(back.tables[k].fingerprints, index.tables[k].fingerprints)
    assert back.fingerprint() == index.fingerprint()


def test_fingerprint_follows_the_rule_parameters() -> None:
    s = arc_set(
        [{"q": "Which planet in our solar system is closest to the Sun and has no moons?", "c": ["a", "b"]}]
    )
    assert build_index([s]).fingerprint() == build_index([s]).fingerprint()
    assert build_index([s], ngram=12).fingerprint() != build_index([s]).fingerprint()


def test_real_index_shape(index, sets) -> None:
    assert len(index.items) == sum(len(s) for s in sets.values())
    summary = index.summary()
    assert summary["window_lengths"] == [3, 8, 13]
    assert 1_000_000 < summary["units"] < 1_400_000
    undetectable = sum(1 for it in index.items if not it.detectable)
    assert 0 < undetectable < 100  # a few dozen MMLU/ARC items too short even with their options


@settings(max_examples=100, deadline=None)
@given(
    keys=st.lists(st.integers(0, 2**64 - 1), max_size=300),
    probes=st.lists(st.integers(0, 2**64 - 1), max_size=50),
    near=st.integers(0, 2**20),
)
def test_key_lookup_finds_exactly_the_keys(keys, probes, near) -> None:
    k = np.sort(np.array(keys, dtype=np.uint64))
    lookup = key_lookup(k)
    # the keys themselves, their neighbours (same bucket, other fingerprint or key), and random hashes
    h = np.array(keys[:20] + [(x ^ near) for x in keys[:20]] + probes, dtype=np.uint64)
    assert np.array_equal(lookup_windows(h, k, lookup), np.isin(h, k))
    assert int(lookup.offsets[-1]) == k.size and lookup.offsets.size == (1 << lookup.bits) + 1


def test_fields_and_variants_come_from_the_benchmark_specs() -> None:
    """item_fields/field_variants ask the spec (scan.fields, scan.plain_answer), not the benchmark's name."""
    from harness.data.registry import get_spec
    from harness.leakage.index import field_variants

    annotated = "She pays 2*3 = <<2*3=6>>6 dollars."
    assert get_spec("gsm8k").scan.plain_answer and not get_spec("mmlu").scan.plain_answer
    assert field_variants("gsm8k", "answer", annotated) == [("answer (plain)", "She pays 2*3 = 6 dollars.")]
    assert field_variants("mmlu", "answer", annotated) == []
    assert field_variants("gsm8k", "question", annotated) == []
