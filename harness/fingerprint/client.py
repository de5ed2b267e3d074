"""The only part of fingerprinting that talks to the network: one OpenAI-compatible endpoint, metered.

Why our own thin httpx client rather than the ``openai`` package: the probes need the raw response
fields that servers add beyond OpenAI's schema (vLLM/llama.cpp ``echo`` prompt logprobs, ``top_logprobs``
dicts, ``usage`` on every call), and they must see exactly what came back when a server answers with
HTML or half a JSON document; the ``openai`` client coerces responses into its own models and hides
both. Every request is counted against the run's budget and ledger (requests, tokens, seconds), which
is what the report's cost lines are built from. The API key is read from the environment variable the
user names, sent only in the Authorization header, and never enters a message, a log or a record.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
# Statuses meaning "this route or parameter is not offered here": the probe that asked degrades.
UNSUPPORTED_STATUSES = frozenset({400, 404, 405, 415, 422, 501})
MAX_RETRY_AFTER = 30.0
DEFAULT_BACKOFF = 1.0  # seconds before the first retry; doubles each time


class EndpointError(RuntimeError):
    """The endpoint cannot be fingerprinted: unreachable, refusing us, or answering with non-API content."""


class EndpointUnsupported(EndpointError):
    """The endpoint refused one request as invalid or unknown (a 4xx): that probe is not possible here."""

    def __init__(self, message: str, status: int):
        super().__init__(message)
        self.status = status


class MalformedResponse(EndpointError):
    """A JSON answer that does not have the shape of the route's response (missing or mistyped field)."""


class BudgetExhausted(RuntimeError):
    """The run's request budget is spent; the caller decides with what it has."""


@dataclass
class Ledger:
    """What the run has spent, in total and per probe (the probe named by ``Client.probe``)."""

    requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    responses_without_usage: int = 0
    retries: int = 0
    seconds: float = 0.0
    by_probe: dict[str, dict[str, int]] = field(default_factory=dict)

    def charge(self, probe: str, prompt_tokens: int, completion_tokens: int, *, request: bool) -> None:
        entry = self.by_probe.setdefault(probe, {"requests": 0, "tokens": 0})
        if request:
            self.requests += 1
            entry["requests"] += 1
        self.prompt_tokens += prompt_tokens
        self.completion_tokens += completion_tokens
        entry["tokens"] += prompt_tokens + completion_tokens


def normalise_base_url(url: str) -> str:
    """``http://h:p``, ``http://h:p/v1/`` or a full ``.../v1/completions`` route -> ``http://h:p/v1``."""
    u = url.strip().rstrip("/")
    if not u.startswith(("http://", "https://")):
        raise ValueError(f"--endpoint {url!r}: must be an http(s) URL such as http://127.0.0.1:8000/v1")
    for route in ("/chat/completions", "/completions", "/models"):
        if u.endswith(route):
            u = u[: -len(route)]
            break
    return u if u.endswith("/v1") else u + "/v1"


def _snippet(text: str, n: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[:n] + "…"


class Client:
    """POST/GET JSON to ``base_url`` with retries, backoff and a request budget.

    ``transport`` lets tests plug in ``httpx.MockTransport``; ``sleep`` lets them skip the waiting.
    """

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key_env: str | None = None,
        budget: int = 200,
        timeout: float = 120.0,
        retries: int = 3,
        backoff: float | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.base_url = normalise_base_url(base_url)
        self.model = model
        self.budget = budget
        self.retries = retries
        self.backoff = DEFAULT_BACKOFF if backoff is None else backoff
        self.sleep = sleep
        self.ledger = Ledger()
        self.probe = "setup"
        # sent with every temperature-0 request (e.g. llama-cpp-python's repeat_penalty defaults to 1.1,
        # which is not greedy decoding); filled in by discovery when the endpoint accepts it
        self.greedy_extra: dict[str, Any] = {}
        self.on_request: Callable[[int], None] | None = None  # called with the request count (progress bars)
        headers = {"Content-Type": "application/json"}
        if api_key_env:
            key = os.environ.get(api_key_env)
            if not key:
                raise ValueError(
                    f"--api-key-env {api_key_env}: that environment variable is not set or empty"
                )
            headers["Authorization"] = f"Bearer {key}"
        self._http = httpx.Client(
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)), headers=headers, transport=transport
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def remaining(self) -> int:
        return self.budget - self.ledger.requests

    def get(self, route: str) -> dict[str, Any]:
        return self._request("GET", route, None)

    def post(self, route: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST ``body`` (``model`` is filled in) and return the JSON object; charges usage to the probe."""
        data = self._request("POST", route, {"model": self.model, **body})
        usage = data.get("usage")
        if isinstance(usage, dict) and isinstance(usage.get("prompt_tokens"), int):
            completion = usage.get("completion_tokens")
            self.ledger.charge(
                self.probe,
                usage["prompt_tokens"],
                completion if isinstance(completion, int) else 0,
                request=False,
            )
        else:
            self.ledger.responses_without_usage += 1
        return data

    def _request(self, method: str, route: str, body: dict[str, Any] | None) -> dict[str, Any]:
        url = self.base_url + route
        for attempt in range(self.retries + 1):
            if self.remaining <= 0:
                raise BudgetExhausted(f"the budget of {self.budget} requests is spent")
            self.ledger.charge(self.probe, 0, 0, request=True)
            if self.on_request is not None:
                self.on_request(self.ledger.requests)
            started = time.monotonic()
            try:
                resp = self._http.request(method, url, json=body)
            except httpx.TimeoutException as e:
                problem = f"{method} {url} timed out ({type(e).__name__})"
                resp = None
            except httpx.TransportError as e:
                problem = f"{method} {url} failed: {type(e).__name__}: {e}"
                resp = None
            finally:
                self.ledger.seconds += time.monotonic() - started
            if resp is not None and resp.status_code not in RETRY_STATUSES:
                return self._decode(method, url, resp)
            if resp is not None:
                problem = f"{method} {url} answered HTTP {resp.status_code}: {_snippet(resp.text)}"
            if attempt == self.retries:
                raise EndpointError(f"{problem} (gave up after {self.retries + 1} attempts)")
            self.ledger.retries += 1
            self.sleep(self._wait(attempt, resp))
        raise AssertionError("unreachable")

    def _wait(self, attempt: int, resp: httpx.Response | None) -> float:
        wait = self.backoff * 2**attempt
        if resp is not None and (after := resp.headers.get("Retry-After")):
            with contextlib.suppress(ValueError):
                wait = max(wait, min(float(after), MAX_RETRY_AFTER))
        return wait

    def _decode(self, method: str, url: str, resp: httpx.Response) -> dict[str, Any]:
        ctype = resp.headers.get("content-type", "")
        text = resp.text
        looks_html = "html" in ctype or text.lstrip()[:15].lower().startswith(("<!doctype", "<html"))
        try:
            data = json.loads(text) if text.strip() and not looks_html else None
        except json.JSONDecodeError:
            data = None
        status = resp.status_code
        if status >= 400:
            message = _error_message(data) or _snippet(text) or "(empty body)"
            where = f"{method} {url} answered HTTP {status}: {message}"
            if status in (401, 403):
                raise EndpointError(f"{where} (check --api-key-env and that the key is valid)")
            if status in UNSUPPORTED_STATUSES:
                raise EndpointUnsupported(where, status)
            raise EndpointError(where)
        if looks_html:
            raise EndpointError(
                f"{method} {url} answered with an HTML page, not OpenAI-style JSON "
                f"(is the URL the API's /v1 root?): {_snippet(text)!r}"
            )
        if data is None:
            raise EndpointError(f"{method} {url} answered with a body that is not JSON: {_snippet(text)!r}")
        if not isinstance(data, dict):
            raise EndpointError(
                f"{method} {url} answered with JSON that is a {type(data).__name__}, not an object"
            )
        if "error" in data and "choices" not in data and "data" not in data:
            raise EndpointError(f"{method} {url} answered with an error: {_error_message(data)}")
        return data


def _error_message(data: Any) -> str | None:
    if not isinstance(data, dict):
        return None
    err = data.get("error", data.get("detail"))
    if isinstance(err, dict):
        return str(err.get("message") or err)[:500]
    if err is not None:
        return str(err)[:500]
    return None
