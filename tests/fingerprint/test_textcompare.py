"""Honest text handling is not evidence; word-level edits and departures are located exactly."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from harness.fingerprint.textcompare import (
    echoed_at_all,
    first_divergence,
    normalise,
    normalise_with_map,
    word_edits,
)
from harness.testing.proxy_server import Tamper


def test_normalise_collapses_whitespace_and_maps_back():
    text = "  Hello,\n\n  world\tagain  "
    norm, index = normalise_with_map(text)
    assert norm == "Hello, world again"
    assert [text[i] for i in index if not text[i].isspace()] == [c for c in norm if c != " "]


@given(st.text(max_size=60))
def test_normalise_is_idempotent(text):
    assert normalise(normalise(text)) == normalise(text)


def test_first_divergence_locates_the_reference_token():
    ref = [" The", " cat", " sat", " on", " the", " mat"]
    assert (
        first_divergence(" The cat sat on the mat", ref, ref_stopped=False, endpoint_stopped=False).token
        is None
    )
    d = first_divergence(" The cat stood up", ref, ref_stopped=False, endpoint_stopped=False)
    assert d.token == 2  # " sat" vs " stood": the texts differ inside the third token
    # whitespace collapsed by a relay is not a departure
    assert (
        first_divergence(" The  cat sat\non the mat", ref, ref_stopped=False, endpoint_stopped=False).token
        is None
    )
    # a prefix cut by max_tokens is not a departure; a chosen stop is
    assert first_divergence(" The cat", ref, ref_stopped=False, endpoint_stopped=False).token is None
    assert first_divergence(" The cat", ref, ref_stopped=False, endpoint_stopped=True).token == 2
    # the endpoint goes on where the reference chose EOS
    d = first_divergence(" The cat sat on the mat and more", ref, ref_stopped=True, endpoint_stopped=False)
    assert d.token == len(ref) and d.endpoint_longer


def test_a_deleted_word_is_a_departure_at_that_word():
    ref = [" apple", ",", " Claude", ",", " table"]
    out = Tamper(delete=["Claude"]).text("".join(ref))
    d = first_divergence(out, ref, ref_stopped=False, endpoint_stopped=False)
    assert d.token in (2, 3)  # at the name (or the comma the deletion left): never before it


def test_word_edits_ignore_whitespace_and_punctuation_but_not_words():
    sent = "Assistants built by OpenAI and Anthropic are compared with Claude."
    assert not word_edits(sent, "Assistants  built by OpenAI and Anthropic are compared with Claude").any
    e = word_edits(sent, Tamper(delete=["Anthropic"]).text(sent) + " Next")
    assert e.deleted == ("Anthropic",) and e.inserted == ()
    r = word_edits(
        "Anthropic makes Claude.", Tamper(replace={"Claude": "Llama"}).text("Anthropic makes Claude.")
    )
    assert r.deleted == ("Claude",) and r.inserted == ("Llama",)


def test_echo_ignored_is_recognised():
    assert echoed_at_all("one two three four", "one two three four five")
    assert not echoed_at_all("one two three four", " and then something else")
