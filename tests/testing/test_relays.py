"""Zoo relays, pure parts: API modes, honest text normalisation, output-only word filters."""

from __future__ import annotations

import copy

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.testing.relays import (
    API_MODES,
    RelayConfig,
    ZooTamper,
    collapse_whitespace,
    decode_cleanup,
    delete_words,
)


def _completion(text: str, *, top: bool = True) -> dict:
    return {
        "model": "upstream",
        "choices": [
            {
                "index": 0,
                "text": text,
                "logprobs": {
                    "tokens": ["a", "b"],
                    "token_logprobs": [None, -1.0],
                    "top_logprobs": [None, {"b": -1.0, "c": -2.0}] if top else None,
                    "text_offset": [0, 1],
                },
            }
        ],
    }


def _chat(content: str) -> dict:
    lp = {"content": [{"token": "x", "logprob": -0.5, "top_logprobs": [{"token": "x", "logprob": -0.5}]}]}
    return {
        "model": "upstream",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "logprobs": lp}],
    }


def test_collapse_whitespace_examples() -> None:
    assert collapse_whitespace("a  b\t\tc") == "a b c"
    assert collapse_whitespace("a \n\n  b") == "a\nb"
    assert collapse_whitespace("a b\nc") == "a b\nc"


@given(st.text(alphabet=st.sampled_from(list("ab \t\n")), max_size=40))
def test_collapse_whitespace_is_idempotent_and_leaves_no_runs(text: str) -> None:
    once = collapse_whitespace(text)
    assert collapse_whitespace(once) == once
    assert not any(once[i].isspace() and once[i + 1].isspace() for i in range(len(once) - 1))
    assert once.replace(" ", "").replace("\n", "").replace("\t", "") == text.replace(" ", "").replace(
        "\n", ""
    ).replace("\t", "")


def test_decode_cleanup_is_transformers_clean_up_tokenization() -> None:
    from transformers.tokenization_utils_base import PreTrainedTokenizerBase

    text = "Hello , world ! Is n't it ? I 'm here . They 've gone , we 're ' ok ' ."
    assert decode_cleanup(text) == PreTrainedTokenizerBase.clean_up_tokenization(None, text)
    assert decode_cleanup(text) == "Hello, world! Isn't it? I'm here. They've gone, we're'ok '."


def test_delete_words_whole_words_only() -> None:
    assert delete_words("I am Claude, not Claudette.", ["Claude"]) == "I am, not Claudette."
    assert delete_words("Claude-like", ["Claude"]) == "Claude-like"


def test_word_filter_touches_generated_text_only() -> None:
    t = ZooTamper(RelayConfig(delete_generated=("Claude",)))
    prompt = "Names: Claude, Gemini."
    data = t.response(_completion(prompt + " Claude and Gemini"), "smollm2", {"prompt": prompt, "echo": True})
    assert data["choices"][0]["text"] == prompt + " and Gemini"
    assert data["model"] == "smollm2"
    # Without echo the whole text is generated.
    data = t.response(_completion(" Claude and Gemini"), "smollm2", {"prompt": prompt})
    assert data["choices"][0]["text"] == " and Gemini"
    data = t.response(_chat("I am Claude."), "smollm2", {"messages": []})
    assert data["choices"][0]["message"]["content"] == "I am."
    assert data["choices"][0]["logprobs"] is not None  # this relay keeps logprobs


def test_normalisation_applies_to_echo_and_keeps_logprobs() -> None:
    t = ZooTamper(RelayConfig(normalise="whitespace"))
    prompt = "a  b\n\n c"
    upstream = _completion(prompt + "  d")
    data = t.response(copy.deepcopy(upstream), "smollm2", {"prompt": prompt, "echo": True})
    assert data["choices"][0]["text"] == "a b\nc d"
    assert data["choices"][0]["logprobs"] == upstream["choices"][0]["logprobs"]


@pytest.mark.parametrize("mode", API_MODES)
def test_api_modes_refuse_and_strip(mode: str) -> None:
    t = ZooTamper(RelayConfig(api_mode=mode))
    echo = t.refuse("/completions", {"prompt": "x", "echo": True, "logprobs": 5})
    plain = t.refuse("/completions", {"prompt": "x", "logprobs": 5})
    chat = t.refuse("/chat/completions", {"messages": []})
    assert chat is None
    assert (echo is None) == (mode in ("full", "prompt_token_logprobs"))
    assert (plain is None) == (mode in ("full", "prompt_token_logprobs", "generated_logprobs"))
    comp = t.response(_completion("ab"), "smollm2", {"prompt": "a", "echo": True})["choices"][0]["logprobs"]
    ch = t.response(_chat("x"), "smollm2", {})["choices"][0]["logprobs"]
    if mode == "no_logprobs":
        assert comp is None and ch is None
    elif mode == "prompt_token_logprobs":
        assert comp["top_logprobs"] is None and comp["token_logprobs"] == [None, -1.0]
        assert ch["content"][0]["top_logprobs"] == []
    else:
        assert comp["top_logprobs"][1] == {"b": -1.0, "c": -2.0}


def test_relay_config_round_trip_and_validation() -> None:
    cfg = RelayConfig(api_mode="chat_logprobs", normalise="decode_cleanup", delete_generated=("Claude",))
    assert RelayConfig.from_dict(cfg.to_dict()) == cfg
    assert RelayConfig().is_passthrough and not cfg.is_passthrough
    with pytest.raises(ValueError, match="api_mode"):
        RelayConfig(api_mode="echo_only")
    with pytest.raises(ValueError, match="normalise"):
        RelayConfig(normalise="nfkc")
