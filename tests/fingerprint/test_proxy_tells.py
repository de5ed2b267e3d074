from types import SimpleNamespace

import pytest

from harness.fingerprint.probes import proxy_tells as P
from harness.models.proxy_server import Tamper


def test_contains_word_is_whole_word_and_case_sensitive():
    assert P.contains_word("We met Meta staff.", "Meta")
    assert not P.contains_word("metadata and Metabase", "Meta")
    assert P.contains_word("GPT-4, then", "GPT-4") and not P.contains_word("GPT-4o", "GPT-4")


def test_echo_rewrites_names_the_deleted_words():
    sent = "In 2023 OpenAI released GPT-4, Anthropic released Claude 2, and Google announced Gemini."
    tampered = Tamper(delete=["Anthropic"]).text(sent)
    assert tampered == "In 2023 OpenAI released GPT-4, released Claude 2, and Google announced Gemini."
    rewrites = P.echo_rewrites([(sent, tampered + " Next"), ("same", "same and more")])
    assert rewrites == [{"text": 0, "deleted": ["Anthropic"], "inserted": []}]
    ev = P.echo_evidence([(sent, tampered)])
    assert ev.supports == "mismatch" and ev.decisive and "'Anthropic' (1x)" in ev.statistic
    clean = P.echo_evidence([(sent, sent + " more")])
    assert clean.supports == "neutral" and not clean.decisive


def test_replacement_is_reported_as_inserted_name():
    sent = "Anthropic makes Claude."
    out = Tamper(replace={"Claude": "Llama"}).text(sent)
    r = P.echo_rewrites([(sent, out)])[0]
    assert r["deleted"] == ["Claude"] and r["inserted"] == ["Llama"]


def _records(endpoint_filter, stage_lists, stage):
    return [
        P.CopyRecord(items, endpoint_filter(", ".join(items)), ", ".join(items), stage)
        for items in stage_lists
    ]


def test_deletion_probe_screens_then_confirms_only_the_deleted_name():
    tamper = Tamper(delete=["Anthropic"])
    screen = _records(tamper.text, P.COPY_LISTS, "screen")
    assert P.suspicious_words(screen) == ["Anthropic"]
    confirm = _records(tamper.text, P.confirm_lists("Anthropic"), "confirm")
    ev = P.deletion_evidence(screen + confirm, alpha=0.01, requests=12, tokens=400)
    assert ev.supports == "mismatch" and ev.decisive and ev.details["deleted_words"] == ["Anthropic"]
    assert ev.p_value < 0.01 and "'Anthropic' dropped 4/4 vs controls 0/20" in ev.statistic


def test_deletion_probe_is_not_fooled_by_a_model_that_copies_badly():
    # drops every third word regardless of what it is: names and controls alike
    def sloppy(text):
        return ", ".join(w for i, w in enumerate(text.split(", ")) if i % 3 != 2)

    screen = _records(sloppy, P.COPY_LISTS, "screen")
    confirm = [r for w in P.suspicious_words(screen) for r in _records(sloppy, P.confirm_lists(w), "confirm")]
    ev = P.deletion_evidence(screen + confirm, alpha=0.01, requests=12, tokens=400)
    assert ev.supports == "neutral" and not ev.decisive


def test_reference_baseline_excludes_words_the_reference_itself_drops():
    rec = P.CopyRecord(("a", "Anthropic", "b"), "a, b", "a, b", "screen")
    assert P.word_table([rec]) == {"a": {"kept": 1, "dropped": 0}, "b": {"kept": 1, "dropped": 0}}


def test_identity_and_cache_evidence():
    ev = P.identity_evidence(
        ["I am Claude, made by Anthropic."], ["I am SmolLM by Hugging Face."], requests=1, tokens=9
    )
    assert ev.supports == "mismatch" and not ev.decisive and ev.strength < 0.8
    ev2 = P.identity_evidence(
        ["SmolLM here, from Hugging Face"], ["I am SmolLM by Hugging Face."], requests=1, tokens=9
    )
    assert ev2.supports == "match"
    ref = SimpleNamespace(encode_plain=lambda t: t.split())
    same = P.cache_evidence(P.CacheRecord(["a b c d e f g h i j"] * 2, [0.1, 0.1]), ref, requests=2, tokens=4)
    assert same.details["identical"] and same.supports == "neutral"
    differ = P.cache_evidence(
        P.CacheRecord(["a b c d e f g h i", "z y x w v u t s r"], [0.1, 0.1]), ref, requests=2, tokens=4
    )
    assert not differ.details["identical"]


@pytest.mark.parametrize(
    ("words", "text", "expected"), [(["Claude"], "Hi Claude-bot, Claude.", "Hi Claude-bot,.")]
)
def test_tamper_deletes_whole_words_only(words, text, expected):
    assert Tamper(delete=words).text(text) == expected
