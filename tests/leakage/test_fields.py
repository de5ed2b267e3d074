"""Field paths: parsing, errors, and the strings they select."""

from __future__ import annotations

import pytest

from harness.leakage.fields import FieldPathError, parse_field, record_texts

CHAT = {
    "id": 7,
    "messages": [
        {"role": "user", "content": "What is the capital of France, in one word please?"},
        {"role": "assistant", "content": "Paris is the capital and largest city of France."},
    ],
    "meta": {"title": "A chat about European capitals", "tags": ["geo", "europe"]},
}


def test_every_string_field_by_default() -> None:
    texts, present = record_texts(CHAT, None, min_chars=0)
    assert present
    assert [p for p, _ in texts] == [
        "messages[0].role", "messages[0].content", "messages[1].role", "messages[1].content",
        "meta.title", "meta.tags[0]", "meta.tags[1]",
    ]  # fmt: skip


def test_short_ascii_strings_are_left_out_early() -> None:
    texts, _ = record_texts(CHAT, None, min_chars=15)
    assert [p for p, _ in texts] == ["messages[0].content", "messages[1].content", "meta.title"]
    assert record_texts({"x": "naïve"}, None, min_chars=15)[0] == [("x", "naïve")]  # NFKC may add words


def test_chat_paths_and_indexes() -> None:
    texts, _ = record_texts(CHAT, [parse_field("messages[].content")], 0)
    assert [p for p, _ in texts] == ["messages[0].content", "messages[1].content"]
    texts, _ = record_texts(CHAT, [parse_field("messages[-1].content"), parse_field("meta.title")], 0)
    assert [p for p, _ in texts] == ["messages[-1].content", "meta.title"]
    texts, _ = record_texts(CHAT, [parse_field("meta")], 0)  # a path ending on an object takes its strings
    assert [p for p, _ in texts] == ["meta.title", "meta.tags[0]", "meta.tags[1]"]


def test_missing_fields_and_records_without_text() -> None:
    assert record_texts(CHAT, [parse_field("text")], 0) == ([], False)
    assert record_texts({"text": 12}, [parse_field("text")], 0) == ([], False)
    assert record_texts({"id": 3, "score": 0.5}, None, 0) == ([], False)
    assert record_texts({"text": "hi"}, [parse_field("text")], 15) == (
        [],
        True,
    )  # present, too short to matter
    assert record_texts("a bare JSON string on its own line", None, 0)[0] == [
        ("", "a bare JSON string on its own line")
    ]


@pytest.mark.parametrize("bad", ["", " text", "a..b", ".a", "a.", "a[x]", "a[", "[0]]"])
def test_bad_paths_are_refused_with_the_path(bad: str) -> None:
    with pytest.raises(FieldPathError, match="field path"):
        parse_field(bad)
