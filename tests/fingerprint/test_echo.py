"""echo_text: honest text handling is not evidence, remaining word edits are; the tampering relay's
modes (generated text only, whitespace collapsing) behave as the relay tests assume."""

from __future__ import annotations

import pytest

from harness.fingerprint.probes.echo import EchoObservation, echo_text_outcome
from harness.models.proxy_server import Tamper

SENT = "Assistants built by OpenAI and Anthropic are often compared with models such as Claude and Llama."


def obs(returned: str) -> EchoObservation:
    return EchoObservation("k", SENT, returned, None, None, None)


def test_exact_and_whitespace_normalised_echoes_are_not_edits():
    assert not echo_text_outcome(obs(SENT + " The"), SENT).edited
    collapsed = Tamper(collapse_whitespace=True).text(SENT.replace(" and ", "  and\n"))
    assert not echo_text_outcome(obs(collapsed + " The"), SENT).edited


def test_a_tokenizer_round_trip_explains_what_it_changes():
    # a tokenizer whose decode drops a space before punctuation: explained by the round trip
    sent = "Hello , world ."
    out = echo_text_outcome(
        EchoObservation("k", sent, "Hello, world. Next", None, None, None), "Hello, world."
    )
    assert not out.edited


def test_a_deleted_vendor_name_is_an_edit():
    out = echo_text_outcome(obs(Tamper(delete=["Anthropic"]).text(SENT) + " The"), SENT)
    assert out.echoed and out.edited and out.deleted == ("Anthropic",)


def test_an_ignored_echo_is_not_compared():
    out = echo_text_outcome(obs(" and then the model wrote something else entirely."), SENT)
    assert not out.echoed and not out.edited


def test_spare_echo_tampers_only_with_generated_text():
    t = Tamper(delete=["Claude"], spare_echo=True)
    data = {"choices": [{"text": SENT + " Claude said hi"}]}
    out = t.response(data, "m", {"prompt": SENT, "echo": True})
    assert out["choices"][0]["text"] == SENT + " said hi"
    chat = t.response({"choices": [{"message": {"content": "I am Claude."}}]}, "m", {"messages": []})
    assert chat["choices"][0]["message"]["content"] == "I am."


@pytest.mark.parametrize(
    ("words", "text", "expected"), [(["Claude"], "Hi Claude-bot, Claude.", "Hi Claude-bot,.")]
)
def test_tamper_deletes_whole_words_only(words, text, expected):
    assert Tamper(delete=words).text(text) == expected
