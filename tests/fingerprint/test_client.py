import json

import httpx
import pytest

from harness.fingerprint.client import (
    BudgetExhausted,
    Client,
    EndpointError,
    EndpointUnsupported,
    normalise_base_url,
)

OK = {"choices": [{"text": "hi"}], "usage": {"prompt_tokens": 5, "completion_tokens": 2}}


def _client(handler, **kw) -> Client:
    return Client("http://h:1/v1", "m", transport=httpx.MockTransport(handler), sleep=lambda s: None, **kw)


def test_normalise_base_url_accepts_roots_and_routes():
    assert normalise_base_url("http://h:8000") == "http://h:8000/v1"
    assert normalise_base_url("http://h:8000/v1/") == "http://h:8000/v1"
    assert normalise_base_url("https://api.x.com/v1/chat/completions") == "https://api.x.com/v1"
    with pytest.raises(ValueError, match="must be an http"):
        normalise_base_url("ftp://h")


def test_post_fills_model_charges_usage_per_probe():
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(json.loads(request.content))
        return httpx.Response(200, json=OK)

    c = _client(handler)
    c.probe = "token_count_probe"
    assert c.post("/completions", {"prompt": "x"})["choices"][0]["text"] == "hi"
    assert seen == [{"model": "m", "prompt": "x"}]
    assert c.ledger.requests == 1 and c.ledger.prompt_tokens == 5 and c.ledger.completion_tokens == 2
    assert c.ledger.by_probe["token_count_probe"] == {"requests": 1, "tokens": 7}


def test_retries_with_backoff_then_succeeds_and_counts_every_attempt():
    calls, waits = [], []

    def handler(request):
        calls.append(1)
        if len(calls) < 3:
            return httpx.Response(503, headers={"Retry-After": "2"}, json={"error": {"message": "busy"}})
        return httpx.Response(200, json=OK)

    c = Client("http://h/v1", "m", transport=httpx.MockTransport(handler), sleep=waits.append, backoff=0.5)
    c.post("/completions", {})
    assert len(calls) == 3 and c.ledger.requests == 3 and c.ledger.retries == 2
    assert waits == [2.0, 2.0]  # Retry-After wins over a shorter backoff


def test_gives_up_after_retries_with_the_status_in_the_message():
    c = _client(lambda r: httpx.Response(500, json={"error": {"message": "boom"}}), retries=2)
    with pytest.raises(EndpointError, match=r"HTTP 500.*boom.*gave up after 3 attempts"):
        c.post("/completions", {})


def test_transport_errors_are_retried_then_reported():
    def handler(request):
        raise httpx.ConnectError("refused")

    with pytest.raises(EndpointError, match="ConnectError"):
        _client(handler, retries=1).post("/completions", {})


@pytest.mark.parametrize(
    ("response", "match"),
    [
        (httpx.Response(200, html="<html><body>hi</body></html>"), "HTML page"),
        (httpx.Response(200, text="<!DOCTYPE html><p>x"), "HTML page"),
        (httpx.Response(200, text="{not json"), "not JSON"),
        (httpx.Response(200, json=[1, 2]), "JSON that is a list"),
        (httpx.Response(200, json={"error": {"message": "quota"}}), "answered with an error: quota"),
        (httpx.Response(401, json={"error": {"message": "bad key"}}), "check --api-key-env"),
        (httpx.Response(418, text="teapot"), "HTTP 418"),
    ],
)
def test_bad_answers_raise_clear_endpoint_errors(response, match):
    with pytest.raises(EndpointError, match=match):
        _client(lambda r: response).post("/completions", {})


def test_4xx_is_unsupported_with_status():
    c = _client(lambda r: httpx.Response(400, json={"error": {"message": "echo not supported"}}))
    with pytest.raises(EndpointUnsupported, match="echo not supported") as info:
        c.post("/completions", {})
    assert info.value.status == 400


def test_budget_is_enforced_before_sending():
    c = _client(lambda r: httpx.Response(200, json=OK), budget=2)
    c.post("/completions", {})
    c.post("/completions", {})
    with pytest.raises(BudgetExhausted):
        c.post("/completions", {})
    assert c.ledger.requests == 2


def test_api_key_comes_from_the_environment_and_never_into_errors(monkeypatch):
    monkeypatch.setenv("FP_KEY", "sk-secret-123")
    seen = []

    def handler(request):
        seen.append(request.headers.get("authorization"))
        return httpx.Response(500, json={"error": {"message": "nope"}})

    c = Client(
        "http://h/v1",
        "m",
        api_key_env="FP_KEY",
        transport=httpx.MockTransport(handler),
        sleep=lambda s: None,
        retries=0,
    )
    with pytest.raises(EndpointError) as info:
        c.post("/completions", {})
    assert seen == ["Bearer sk-secret-123"]
    assert "sk-secret" not in str(info.value)
    monkeypatch.delenv("FP_KEY")
    with pytest.raises(ValueError, match="FP_KEY: that environment variable is not set"):
        Client("http://h/v1", "m", api_key_env="FP_KEY")
