"""Requests every probe sends, in completions or chat form (the only code here that builds bodies)."""

from __future__ import annotations

from typing import Any

from harness.fingerprint.client import Client
from harness.fingerprint.responses import Choice, Response, parse_chat, parse_completion


def complete(client: Client, prompt: str, *, chat: bool, **body: Any) -> Response:
    """One request: ``prompt`` as a completion prompt, or as the user message of a chat."""
    if body.get("temperature") == 0:
        body = {**client.greedy_extra, **body}
    if chat:
        lp = body.pop("logprobs", None)
        if lp is not None:
            body["logprobs"] = True
            body["top_logprobs"] = int(lp)
        data = client.post("/chat/completions", {"messages": [{"role": "user", "content": prompt}], **body})
        return parse_chat(data)
    return parse_completion(client.post("/completions", {"prompt": prompt, **body}))


def greedy(
    client: Client, prompt: str, *, chat: bool, max_tokens: int, logprobs: int | None = None
) -> Choice:
    body: dict[str, Any] = {"max_tokens": max_tokens, "temperature": 0}
    if logprobs is not None:
        body["logprobs"] = logprobs
    return complete(client, prompt, chat=chat, **body).choices[0]


def echo(client: Client, text: str, *, logprobs: int | None) -> Choice:
    body: dict[str, Any] = {
        **client.greedy_extra,
        "prompt": text,
        "max_tokens": 1,
        "temperature": 0,
        "echo": True,
    }
    if logprobs is not None:
        body["logprobs"] = logprobs
    return parse_completion(client.post("/completions", body)).choices[0]
