import numpy as np
import pytest

from harness.contamination.memorisation import (
    completion_match,
    completion_matrix,
    likelihood_matrix,
    order_test,
    split_for_completion,
)
from harness.contamination.probes import min_k_scores

Q = "Janet’s ducks lay 16 eggs per day. She eats three for breakfast every morning and bakes muffins with four."


def test_split_on_a_word_boundary():
    split = split_for_completion(Q)
    assert split is not None and split.prefix + split.rest == Q
    assert split.rest.startswith(" ") and not split.prefix.endswith(" ")
    assert split_for_completion("Too short to split.") is None


def test_completion_match_exact_and_fuzzy():
    assert completion_match(" she eats  three\nfor breakfast and more", " she eats three for breakfast") == (
        True,
        1.0,
    )
    exact, fuzzy = completion_match(" she eats five for breakfast", " she eats three for breakfast")
    assert not exact and 0.6 < fuzzy < 1.0
    assert completion_match("", " anything") == (False, 0.0)


def test_min_k_scores_pick_the_lowest_tokens():
    lp = np.array([-0.1, -5.0, -0.2, -4.0, -0.3])
    mk, mkpp = min_k_scores(lp, np.full(5, -1.0), np.full(5, 4.0), k=0.4)
    assert mk == pytest.approx(-4.5)
    assert mkpp == pytest.approx(((-5.0 + 1) / 2 + (-4.0 + 1) / 2) / 2)


def test_matrices_and_order_test_on_a_fake_model(memorising_probe):
    texts = [f"Item {i}: " + " ".join(["word"] * (5 + i)) for i in range(24)]
    seen_doc = "\n\n".join(texts[4:8])  # a shard seen in its published order
    probe = memorising_probe(seen=[seen_doc])
    m = likelihood_matrix(probe, [[t, t + " twin"] for t in texts[:3]], with_tokens=True)
    assert m["loglikelihood"].shape == (3, 2) and "min_k_plus_plus" not in m
    result = order_test(probe, texts, shard_size=4, shards=6, shuffles=5, rng=np.random.default_rng(0))
    assert result["ran"] and result["shards"] == 6
    assert (
        order_test(probe, texts[:5], shard_size=4, shards=6, shuffles=5, rng=np.random.default_rng(0))["ran"]
        is False
    )
    probe = memorising_probe(seen_questions=[Q])
    exact, fuzzy, examples = completion_matrix(
        probe, [[Q, Q.replace("16", "20")], ["short one", "short two"]]
    )
    assert exact[0, 0] == 1.0 and fuzzy[0, 0] == 1.0 and np.isnan(exact[1]).all()
    assert examples[0]["generated"] == examples[0]["expected"]
