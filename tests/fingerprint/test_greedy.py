"""Greedy departures: counted only at confident reference tokens; vendor names located."""

from __future__ import annotations

import pytest

from harness.fingerprint.probes import greedy as G
from harness.fingerprint.reference import GreedyPath
from harness.testing.proxy_server import Tamper


def path(texts, margins, stopped=False):
    n = len(texts)
    return GreedyPath(
        (1, 2), tuple(range(10, 10 + n)), tuple(texts), tuple(margins), tuple([-0.1] * n), stopped
    )


COPY = [" apple", ",", " Paris", ",", " Claude", ",", " table", ",", " OpenAI"]
COPY_MARGINS = [9.0, 9.0, 8.0, 9.0, 7.5, 9.0, 8.0, 9.0, 0.2]


def obs(text, p, finish="length", **kw):
    return G.GreedyObservation("k", "prompt", text, finish, p, **kw)


def test_vendor_starts_finds_names_not_substrings():
    p = path(COPY, COPY_MARGINS)
    assert G.vendor_starts(p) == {4, 8}
    assert G.vendor_starts(path([" Metadata", " Meta"], [1, 1])) == {1}


def test_agreement_is_no_departure_and_counts_as_informative():
    p = path(COPY, COPY_MARGINS)
    o = G.outcome(obs("".join(COPY), p), tau=5.0)
    assert not o.x and o.informative and o.n_high == 8


def test_a_near_tie_flip_does_not_count_a_confident_one_does():
    p = path(COPY, COPY_MARGINS)
    near = "".join(COPY[:-1]) + " Google"  # departs at the last token, margin 0.2
    o = G.outcome(obs(near, p), tau=5.0)
    assert o.divergence_token == 8 and not o.x
    far = " apple, Berlin, Claude, table, OpenAI"  # departs at " Paris", margin 8
    o = G.outcome(obs(far, p), tau=5.0)
    assert o.divergence_token == 2 and o.x and not o.vendor


def test_a_filtering_relay_is_a_clean_vendor_edit_and_numerics_are_not():
    p = path(COPY, COPY_MARGINS)
    filtered = Tamper(delete=["Claude"]).text("".join(COPY))
    clean, deleted, _ = G.copy_edit(obs(filtered, p), chat=False)
    assert clean and deleted == ("Claude",)
    replaced = Tamper(replace={"Claude": "Llama"}).text("".join(COPY))
    assert G.copy_edit(obs(replaced, p), chat=False)[0]
    # a numerics flip at the name writes something else, not the list without it
    assert not G.copy_edit(obs(" apple, Paris, Clause, table, OpenAI", p), chat=False)[0]
    # a copy that also loses an ordinary word is not a clean vendor edit
    assert not G.copy_edit(obs(" apple, table, OpenAI", p), chat=False)[0]
    ys, names = G.copy_ys([obs(filtered, p)] * 3, chat=False)
    assert ys == [1 / G.COPY_Q0] * 3 and names == {"Claude": 3}
    assert G.dropped_names([obs(filtered, p)], chat=False) == ["Claude"]


def test_prompts_without_confident_tokens_are_not_counted():
    p = path([" a", " b"], [0.1, 0.3])
    a = G.analyse([obs(" x y", p)], tau=5.0, flip_rate=1e-3)
    assert a.ys == [] and a.e.n == 0


def test_common_prefix_logprob_difference():
    class Ref:
        def token_text(self, i):
            return {10: " apple", 11: ","}.get(i, "?")

    p = path(COPY[:3], COPY_MARGINS[:3])
    o = obs("".join(COPY[:3]), p, tokens=[" apple", ",", " Rome"], logprobs=[-0.2, -0.05, -1.0])
    assert G.common_prefix_d(o, Ref()) == pytest.approx([-0.1, 0.05])
    assert G.logprob_y([0.3, 0.3], band=0.1, rho=2.0) == pytest.approx(0.09 / 0.04)
    assert G.logprob_y([5.0, 5.0], band=0.1, rho=2.0) == G.Y_MAX_LOGPROB


def test_a_copy_list_is_informative_only_when_the_reference_copies_a_vendor_name():
    """Known before the request: a list whose reference copy names no vendor can show no deletion, so it
    is not sent (a small chat model often answers a copy request with something else)."""
    items = ("apple", "Paris", "Claude", "table", "OpenAI", "river")
    copied = path(COPY, COPY_MARGINS)
    assert G.copies_a_vendor_name(copied, items, chat=False)
    chatty = path([" I'm", " a", " helpful", " AI", " named", " SmolLM"], [1.0] * 6)
    assert not G.copies_a_vendor_name(chatty, items, chat=True)
    # a name inside another word is not a copy of it
    assert not G.copies_a_vendor_name(path([" Claudette", ",", " tables"], [1.0] * 3), items, chat=True)
    # only names that are in the list count
    assert not G.copies_a_vendor_name(path([" Llama", ",", " apple"], [1.0] * 3), items, chat=True)
