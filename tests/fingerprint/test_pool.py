"""The probe pool: deterministic per seed, different across seeds, no benchmark text."""

from __future__ import annotations

import pytest

from harness.fingerprint import pool


@pytest.mark.parametrize("kind", ["natural", "vendor", "prompt", "copy", "count", "cut"])
def test_items_are_deterministic_and_seed_dependent(kind):
    a = [i.text for i in pool.draw(kind, 0, 8)]
    assert a == [i.text for i in pool.draw(kind, 0, 8)]
    b = [i.text for i in pool.draw(kind, 1, 8)]
    assert a != b
    assert len(set(a)) >= 6  # a draw rarely repeats an item


def test_vendor_texts_name_vendors_and_copy_lists_mix_names_and_words():
    for it in pool.draw("vendor", 3, 10):
        assert sum(w in it.text for w in pool.VENDOR_WORDS) >= 2
    items = pool.copy_items(pool._rng("copy", 0, 0), ("Claude",))
    assert len(items) == 6 and "Claude" in items and items[0] not in pool.VENDOR_WORDS
    assert sum(w in pool.VENDOR_WORDS for w in items) == 2


def test_chat_prompts_are_requests():
    chat = pool.draw("prompt", 0, 5, chat=True)
    plain = pool.draw("prompt", 0, 5)
    assert [c.text for c in chat] != [p.text for p in plain]


def test_no_pool_text_shares_a_long_run_of_words_with_the_bundled_benchmarks():
    """8-word shingles of 300 pool texts against GSM8K test questions and ARC test questions."""
    from harness.data import load_benchmark

    def shingles(text, n=8):
        w = text.lower().split()
        return {" ".join(w[i : i + n]) for i in range(len(w) - n + 1)}

    bench = set()
    for name, split, field in (("gsm8k", "test", "question"), ("arc_challenge", "test", "question")):
        for r in load_benchmark(name, split).rows:
            bench |= shingles(str(r[field]))
    ours = set()
    for kind in ("natural", "vendor", "prompt"):
        for it in pool.draw(kind, 7, 100):
            ours |= shingles(it.text)
    assert not (ours & bench)
