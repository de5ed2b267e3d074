"""harness.models.server_process: start, wait, fail with the log tail, always clean up."""

from __future__ import annotations

import os
import sys

import httpx
import pytest

from harness.models import server_process as sp
from harness.testing.servers import serve_proxy


def test_free_port_is_bindable():
    import socket

    port = sp.free_port()
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))


def test_a_process_that_dies_raises_with_its_log_tail():
    cmd = [sys.executable, "-c", "import sys; print('model file is corrupt'); sys.exit(3)"]
    with pytest.raises(sp.ServerError, match=r"exited with code 3[\s\S]*model file is corrupt"):
        sp.start_server(cmd, timeout=20)


def test_a_process_that_never_answers_times_out_and_is_killed():
    cmd = [sys.executable, "-c", "import time; print('loading...', flush=True); time.sleep(60)"]
    with pytest.raises(sp.ServerError, match=r"not ready after 1s[\s\S]*loading"):
        sp.start_server(cmd, timeout=1)


def test_start_and_close_a_plain_http_server_kills_the_process_group():
    cmd = [sys.executable, "-m", "http.server", "{port}", "--bind", "127.0.0.1"]
    handle = sp.start_server(cmd, ready_path="/", timeout=30)
    assert handle.alive() and handle.base_url.endswith("/v1")
    assert httpx.get(handle.url + "/").status_code == 200
    log = handle.log_path
    handle.close()
    handle.close()  # idempotent
    assert not handle.alive() and not log.exists()
    with pytest.raises(ProcessLookupError):
        os.killpg(handle.process.pid, 0)


def test_serve_transformers_requires_the_key_variable(tiny_model_dir, monkeypatch):
    monkeypatch.delenv("HARNESS_TEST_SERVER_KEY", raising=False)
    with pytest.raises(sp.ServerError, match="HARNESS_TEST_SERVER_KEY is not set"):
        sp.serve_transformers(tiny_model_dir, api_key_env="HARNESS_TEST_SERVER_KEY")


@pytest.mark.slow
def test_serve_transformers_subprocess_and_a_tampering_proxy_in_front(tiny_model_dir):
    """The real subprocess path: our server, and the relay in front of it renaming, stripping, caching."""
    body = {"model": "tiny", "prompt": "Hello", "max_tokens": 3, "temperature": 0, "logprobs": 1}
    with (
        sp.serve_transformers(tiny_model_dir, served_model_name="tiny") as up,
        serve_proxy(
            up.base_url,
            upstream_model="tiny",
            served_model_name="famous-model",
            strip_logprobs=True,
            cache=True,
        ) as proxy,
    ):
        direct = httpx.post(up.base_url + "/completions", json=body, timeout=60).json()
        assert direct["choices"][0]["logprobs"] is not None
        assert httpx.get(proxy.base_url + "/models").json()["data"][0]["id"] == "famous-model"
        relayed = httpx.post(
            proxy.base_url + "/completions", json=body | {"model": "famous-model"}, timeout=60
        ).json()
        assert relayed["model"] == "famous-model" and relayed["choices"][0]["logprobs"] is None
        assert relayed["choices"][0]["text"] == direct["choices"][0]["text"]
        wrong = httpx.post(proxy.base_url + "/completions", json=body, timeout=60)
        assert wrong.status_code == 404  # it only answers to the name it claims
        sample = {"model": "famous-model", "prompt": "Hello", "max_tokens": 6, "temperature": 1.0}
        a = httpx.post(proxy.base_url + "/completions", json=sample | {"seed": 1}, timeout=60).json()
        b = httpx.post(proxy.base_url + "/completions", json=sample | {"seed": 2}, timeout=60).json()
        assert a["choices"][0]["text"] == b["choices"][0]["text"]  # the cache ignores the seed
