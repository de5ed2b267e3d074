"""echo_text: honest text handling is not evidence, remaining word edits are; the tampering relay's
modes (generated text only, whitespace collapsing) behave as the relay tests assume."""

from __future__ import annotations

import pytest

from harness.fingerprint.probes.echo import EchoObservation, echo_text_outcome
from harness.testing.proxy_server import Tamper

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


class FakeRef:
    """Tokens are words; the reference's logprob of every token is -1.0 and its rank 0."""

    def __init__(self, text):
        self.special_token_texts: set[str] = set()
        self.words = text.split(" ")
        self.string_to_id = {w: i for i, w in enumerate(self.words)}

    def encode(self, text):
        return [self.string_to_id[w] for w in text.split(" ")]

    def token_text(self, i):
        return self.words[i]

    def token_logprobs(self, ids):
        return [-1.0] * (len(ids) - 1)

    def token_ranks(self, ids):
        return [0] * (len(ids) - 1)


def test_alignment_standard_and_llama_cpp_shifted():
    from harness.fingerprint.probes import echo as E

    text = "a b c d e f"
    ref = FakeRef(text)
    toks = text.split(" ")
    honest = EchoObservation("k", text, text, toks, [None, -1.01, -0.99, -1.0, -1.02, -1.0], None)
    c = E.echo_candidates(ref, honest)
    assert max(abs(x) for x in c[E.STANDARD]) < 0.03
    # llama-cpp-python: the listed logprob at p is garbage; the top-k at p describes token p + 1
    shifted_top = [{toks[p + 1]: -1.0} if p + 1 < len(toks) else {} for p in range(len(toks))]
    llama = EchoObservation("k", text, text, toks, [-16.0] * 6, shifted_top)
    c2 = E.echo_candidates(ref, llama)
    assert E.choose_alignment([c2]) == E.SHIFTED and max(abs(x) for x in c2[E.SHIFTED]) < 1e-9
    assert E.choose_alignment([c]) == E.STANDARD
