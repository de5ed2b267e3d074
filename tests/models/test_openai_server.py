"""harness.models.openai_server: every number it reports checked against the model itself."""

from __future__ import annotations

import httpx
import pytest
import torch

from harness.models import openai_server as S


def _post(url: str, route: str, body: dict, **kw) -> httpx.Response:
    return httpx.post(url + route, json=body, timeout=60, **kw)


def _ref_logprobs(engine, ids: list[int]) -> torch.Tensor:
    with torch.inference_mode():
        return torch.log_softmax(engine.model(torch.tensor([ids])).logits[0].float(), -1)


def test_completion_echo_logprobs_match_a_forward_pass(tiny_engine, tiny_url):
    prompt = "Natalia sold 48 clips in April."
    r = _post(
        tiny_url,
        "/completions",
        {"model": "tiny", "prompt": prompt, "max_tokens": 1, "echo": True, "logprobs": 3, "temperature": 0},
    )
    assert r.status_code == 200
    data = r.json()
    ids = tiny_engine.tokenizer(prompt)["input_ids"]
    lp = data["choices"][0]["logprobs"]
    assert data["usage"] == {"prompt_tokens": len(ids), "completion_tokens": 1, "total_tokens": len(ids) + 1}
    assert data["choices"][0]["text"].startswith(prompt) and len(lp["tokens"]) == len(ids) + 1
    assert lp["token_logprobs"][0] is None and lp["top_logprobs"][0] is None
    rows = _ref_logprobs(tiny_engine, ids)
    for j in range(1, len(ids)):
        assert lp["token_logprobs"][j] == pytest.approx(float(rows[j - 1, ids[j]]), abs=1e-4)
        top = lp["top_logprobs"][j]
        assert len(top) in (3, 4)  # k best plus the chosen token when it is not among them
        best = int(rows[j - 1].argmax())
        assert top[tiny_engine.token_text(best)] == pytest.approx(float(rows[j - 1, best]), abs=1e-4)
    # the generated token is the greedy one, with its logprob from the last row
    gen = int(rows[-1].argmax())
    assert lp["tokens"][-1] == tiny_engine.token_text(gen)
    assert lp["text_offset"][1] == len(lp["tokens"][0])


def test_max_tokens_cuts_and_counts(tiny_url):
    r = _post(
        tiny_url,
        "/completions",
        {"prompt": "One two three", "max_tokens": 5, "temperature": 0, "ignore_eos": True},
    ).json()
    assert r["usage"]["completion_tokens"] == 5 and r["choices"][0]["finish_reason"] == "length"


def test_seeded_sampling_is_reproducible_and_n_gives_n_choices(tiny_url):
    body = {"prompt": "The cat", "max_tokens": 8, "temperature": 1.0, "seed": 11, "n": 3, "ignore_eos": True}
    a = _post(tiny_url, "/completions", body).json()
    b = _post(tiny_url, "/completions", body).json()
    assert [c["text"] for c in a["choices"]] == [c["text"] for c in b["choices"]]
    assert len(a["choices"]) == 3 and a["usage"]["completion_tokens"] == 24
    c = _post(tiny_url, "/completions", body | {"seed": 12}).json()
    assert [x["text"] for x in c["choices"]] != [x["text"] for x in a["choices"]]


def test_chat_applies_the_template_and_reports_top_logprobs(tiny_engine, tiny_url):
    msgs = [{"role": "user", "content": "Hi there"}]
    r = _post(
        tiny_url,
        "/chat/completions",
        {
            "messages": msgs,
            "max_tokens": 4,
            "logprobs": True,
            "top_logprobs": 2,
            "temperature": 0,
            "ignore_eos": True,
        },
    ).json()
    ids = tiny_engine.tokenizer(
        tiny_engine.tokenizer.apply_chat_template(msgs, add_generation_prompt=True, tokenize=False),
        add_special_tokens=False,
    )["input_ids"]
    assert r["usage"]["prompt_tokens"] == len(ids)
    content = r["choices"][0]["logprobs"]["content"]
    assert len(content) == 4 and all(len(e["top_logprobs"]) == 2 for e in content)
    assert content[0]["top_logprobs"][0]["logprob"] >= content[0]["top_logprobs"][1]["logprob"]
    assert r["choices"][0]["message"]["role"] == "assistant"


@pytest.mark.parametrize(
    ("route", "body", "status", "message"),
    [
        ("/completions", {"prompt": "x", "logprobs": 21}, 400, "between 0 and 20"),
        ("/completions", {"prompt": "x", "model": "other"}, 404, "does not exist"),
        ("/completions", {"prompt": "x", "stream": True}, 400, "streaming"),
        ("/completions", {"prompt": []}, 400, "'prompt' must be"),
        ("/completions", {"prompt": [999999]}, 400, "out of range"),
        ("/completions", {"prompt": "x", "temperature": -1}, 400, "non-negative"),
        ("/completions", {"prompt": "x", "max_tokens": 10**6}, 400, "maximum context length"),
        ("/chat/completions", {"messages": [{"role": "user"}]}, 400, "string 'content'"),
        (
            "/chat/completions",
            {"messages": [{"role": "user", "content": "x"}], "top_logprobs": 2},
            400,
            "requires 'logprobs'",
        ),
        ("/nowhere", {}, 404, "no route"),
    ],
)
def test_bad_requests_get_openai_style_errors(tiny_url, route, body, status, message):
    r = _post(tiny_url, route, body)
    assert r.status_code == status and message in r.json()["error"]["message"]


def test_non_json_body_and_health_and_models(tiny_url):
    r = httpx.post(tiny_url + "/completions", content=b"{oops", headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and "not valid JSON" in r.json()["error"]["message"]
    base = tiny_url.removesuffix("/v1")
    assert httpx.get(base + "/health").status_code == 200
    assert httpx.get(tiny_url + "/models").json()["data"][0]["id"] == "tiny"


def test_api_key_is_required_when_configured(tiny_engine):
    import threading

    server = S.make_server(tiny_engine, "127.0.0.1", 0, api_key="k-123")
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    try:
        assert httpx.get(url + "/models").status_code == 401
        assert httpx.get(url + "/models", headers={"Authorization": "Bearer k-123"}).status_code == 200
    finally:
        server.shutdown()
        server.server_close()


def test_sampling_helpers_are_pure_and_validated():
    logits = torch.tensor([0.0, 5.0, 1.0, 4.9])
    assert S._choose(logits, temperature=0, top_p=1.0, top_k=-1, generator=None) == 1
    g = torch.Generator().manual_seed(0)
    draws = {S._choose(logits, temperature=1.0, top_p=1.0, top_k=2, generator=g) for _ in range(50)}
    assert draws == {1, 3}  # top-k keeps only the two best
    draws = {S._choose(logits, temperature=1.0, top_p=0.5, top_k=-1, generator=g) for _ in range(50)}
    assert draws == {1}  # the nucleus of mass 0.5 is the best token alone
    assert S._first_stop("abc\nde", ["\n", "d"]) == 3 and S._first_stop("abc", ["x"]) is None
    with pytest.raises(S.APIError, match="'n' must be at least 1"):
        S.parse_sampling({"n": 0})
    with pytest.raises(S.APIError, match="got a boolean"):
        S.parse_sampling({"max_tokens": True})
    assert S.parse_sampling({"max_completion_tokens": 7}).max_tokens == 7
