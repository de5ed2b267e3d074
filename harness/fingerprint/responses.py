"""Parse OpenAI-style completion and chat responses into plain records, rejecting what does not fit.

Model output is untrusted text and server responses are untrusted structure: every field a probe uses is
checked here once, and a response that does not fit raises ``MalformedResponse`` (an ``EndpointError``) naming the route and the
field, so no probe ever computes on a silently missing or mistyped value.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from harness.fingerprint.client import MalformedResponse


@dataclass(frozen=True)
class TokenLogprobs:
    """Per-token data as the endpoint reported it: token strings, their logprobs, top-k dicts."""

    tokens: list[str]
    logprobs: list[float | None]
    top: list[dict[str, float] | None]


@dataclass(frozen=True)
class Choice:
    text: str
    finish_reason: str | None
    logprobs: TokenLogprobs | None


@dataclass(frozen=True)
class Response:
    choices: list[Choice]
    prompt_tokens: int | None
    completion_tokens: int | None
    model: str | None


def _logprob(value: Any, where: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        # -inf is what some servers send for impossible tokens; keep it out of the statistics as None.
        if isinstance(value, float) and value == -math.inf:
            return None
        raise MalformedResponse(f"{where}: expected a finite number, got {value!r}")
    if value > 1e-3:
        raise MalformedResponse(f"{where}: a log-probability must be <= 0, got {value!r}")
    return float(min(value, 0.0))


def _usage(data: dict[str, Any], route: str) -> tuple[int | None, int | None]:
    usage = data.get("usage")
    if usage is None:
        return None, None
    if not isinstance(usage, dict):
        raise MalformedResponse(f"{route}: 'usage' is not an object")
    out = []
    for key in ("prompt_tokens", "completion_tokens"):
        v = usage.get(key)
        if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < 0):
            raise MalformedResponse(f"{route}: usage.{key} must be a non-negative integer, got {v!r}")
        out.append(v)
    return out[0], out[1]


def _choices(data: dict[str, Any], route: str) -> list[dict[str, Any]]:
    choices = data.get("choices")
    if not isinstance(choices, list) or not choices or not all(isinstance(c, dict) for c in choices):
        raise MalformedResponse(f"{route}: the response has no 'choices' list (got {type(choices).__name__})")
    return choices


def parse_completion(data: dict[str, Any], route: str = "/v1/completions") -> Response:
    """A ``text_completion`` response; ``logprobs`` in the legacy format (tokens/token_logprobs/top)."""
    choices = []
    for i, c in enumerate(_choices(data, route)):
        text = c.get("text")
        if not isinstance(text, str):
            raise MalformedResponse(f"{route}: choices[{i}].text is not a string")
        lp = c.get("logprobs")
        parsed = None
        if lp is not None:
            if not isinstance(lp, dict):
                raise MalformedResponse(f"{route}: choices[{i}].logprobs is not an object")
            tokens = lp.get("tokens")
            values = lp.get("token_logprobs")
            tops = lp.get("top_logprobs")
            if not isinstance(tokens, list) or not all(isinstance(t, str) for t in tokens):
                raise MalformedResponse(f"{route}: choices[{i}].logprobs.tokens is not a list of strings")
            if not isinstance(values, list) or len(values) != len(tokens):
                raise MalformedResponse(
                    f"{route}: choices[{i}].logprobs.token_logprobs does not match tokens in length"
                )
            if tops is None:
                tops = [None] * len(tokens)
            if not isinstance(tops, list) or len(tops) != len(tokens):
                raise MalformedResponse(f"{route}: choices[{i}].logprobs.top_logprobs does not match tokens")
            top_parsed: list[dict[str, float] | None] = []
            for j, t in enumerate(tops):
                if t is None:
                    top_parsed.append(None)
                    continue
                if not isinstance(t, dict):
                    raise MalformedResponse(
                        f"{route}: choices[{i}].logprobs.top_logprobs[{j}] is not an object"
                    )
                entry = {}
                for k, v in t.items():
                    val = _logprob(v, f"{route}: choices[{i}].logprobs.top_logprobs[{j}][{k!r}]")
                    if val is not None:
                        entry[str(k)] = val
                top_parsed.append(entry)
            parsed = TokenLogprobs(
                tokens=list(tokens),
                logprobs=[
                    _logprob(v, f"{route}: choices[{i}].logprobs.token_logprobs[{j}]")
                    for j, v in enumerate(values)
                ],
                top=top_parsed,
            )
        finish = c.get("finish_reason")
        choices.append(Choice(text, finish if isinstance(finish, str) else None, parsed))
    pt, ct = _usage(data, route)
    model = data.get("model")
    return Response(choices, pt, ct, model if isinstance(model, str) else None)


def parse_chat(data: dict[str, Any], route: str = "/v1/chat/completions") -> Response:
    """A ``chat.completion`` response; ``logprobs.content`` entries become TokenLogprobs."""
    choices = []
    for i, c in enumerate(_choices(data, route)):
        msg = c.get("message")
        if not isinstance(msg, dict):
            raise MalformedResponse(f"{route}: choices[{i}].message is not an object")
        content = msg.get("content")
        if content is None:
            content = ""
        if not isinstance(content, str):
            raise MalformedResponse(f"{route}: choices[{i}].message.content is not a string")
        lp = c.get("logprobs")
        parsed = None
        if isinstance(lp, dict) and isinstance(lp.get("content"), list):
            tokens, values, tops = [], [], []
            for j, e in enumerate(lp["content"]):
                where = f"{route}: choices[{i}].logprobs.content[{j}]"
                if not isinstance(e, dict) or not isinstance(e.get("token"), str):
                    raise MalformedResponse(f"{where} has no string 'token'")
                tokens.append(e["token"])
                values.append(_logprob(e.get("logprob"), f"{where}.logprob"))
                top: dict[str, float] = {}
                for t in e.get("top_logprobs") or []:
                    if not isinstance(t, dict) or not isinstance(t.get("token"), str):
                        raise MalformedResponse(f"{where}.top_logprobs has an entry without a string 'token'")
                    val = _logprob(t.get("logprob"), f"{where}.top_logprobs")
                    if val is not None:
                        top[t["token"]] = val
                tops.append(top or None)
            parsed = TokenLogprobs(tokens, values, tops)
        elif lp is not None and not isinstance(lp, dict):
            raise MalformedResponse(f"{route}: choices[{i}].logprobs is not an object")
        finish = c.get("finish_reason")
        choices.append(Choice(content, finish if isinstance(finish, str) else None, parsed))
    pt, ct = _usage(data, route)
    model = data.get("model")
    return Response(choices, pt, ct, model if isinstance(model, str) else None)
