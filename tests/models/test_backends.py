"""Backend names and options mapped to lm-eval's model classes; keys, identity, endpoint discovery."""

from __future__ import annotations

import json
import os
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from harness.models import backends as B
from harness.models.backends import BackendError, backend_spec


@pytest.fixture
def model_dir(tmp_path: Path) -> Path:
    d = tmp_path / "model"
    d.mkdir()
    (d / "config.json").write_text('{"model_type": "llama"}')
    (d / "model.safetensors").write_bytes(b"weights")
    return d


def test_hf_directory(model_dir):
    spec = backend_spec("hf", str(model_dir), model_args={"batch_size": 2, "device": "cuda"})
    assert spec.lm_eval_model == "hf" and spec.loglikelihood and not spec.chat_only
    assert spec.model_args == {
        "dtype": "float32",
        "device": "cuda",
        "batch_size": 2,
        "pretrained": str(model_dir),
    }
    ident = spec.identity
    assert ident["local"] and set(ident["files"]) == {"config.json", "model.safetensors"}
    assert ident["revision"].startswith("sha256:") and len(ident["revision"]) == 7 + 64


def test_hf_gguf_file_goes_through_transformers(tmp_path):
    gguf = tmp_path / "m.Q4.gguf"
    gguf.write_bytes(b"GGUF")
    spec = backend_spec("hf", str(gguf))
    assert spec.model_args["pretrained"] == str(tmp_path) and spec.model_args["gguf_file"] == "m.Q4.gguf"
    assert list(spec.identity["files"]) == ["m.Q4.gguf"]
    with pytest.raises(BackendError, match="GGUF files run on --backend hf"):
        backend_spec("vllm", str(gguf))


def test_hub_name_is_recorded_as_given():
    spec = backend_spec(
        "vllm", "org/some-model-7b", model_args={"tensor_parallel_size": 2, "max_model_len": 4096}
    )
    assert spec.model_args["pretrained"] == "org/some-model-7b"
    assert spec.model_args["tensor_parallel_size"] == 2 and spec.model_args["max_model_len"] == 4096
    assert spec.model_args["batch_size"] == "auto" and spec.model_args["seed"] == 1234
    assert spec.identity == {"model": "org/some-model-7b", "local": False, "revision": None}


def test_git_checkout_revision(model_dir):
    git = ["git", "-c", "user.email=t@t", "-c", "user.name=t", "-C", str(model_dir)]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "m"], check=True)
    head = subprocess.run(
        [*git, "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert backend_spec("hf", str(model_dir)).identity["revision"] == head


@pytest.mark.parametrize(
    ("url", "chat", "route"),
    [
        ("http://h:8000/v1", False, "http://h:8000/v1/completions"),
        ("http://h:8000/v1/", True, "http://h:8000/v1/chat/completions"),
        ("http://h:8000/v1/completions", False, "http://h:8000/v1/completions"),
        ("http://h:8000/v1/chat/completions", True, "http://h:8000/v1/chat/completions"),
    ],
)
def test_endpoint_urls(url, chat, route):
    assert B.endpoint_url(url, chat) == route
    spec = backend_spec("openai-chat" if chat else "openai-completions", "served", base_url=url)
    assert spec.model_args["base_url"] == route
    assert spec.identity == {"endpoint": route, "served_model": "served"}
    with pytest.raises(BackendError, match="is a chat route"):
        B.endpoint_url("http://h/v1/chat/completions", chat=False)
    with pytest.raises(BackendError, match="is a completions route"):
        B.endpoint_url("http://h/v1/completions", chat=True)


def test_endpoint_defaults_and_loglikelihood_needs_a_tokenizer():
    plain = backend_spec("openai-completions", "m", base_url="http://h/v1")
    assert plain.lm_eval_model == "local-completions"
    assert plain.model_args["max_retries"] == 5 and plain.model_args["timeout"] == 300
    assert plain.model_args["num_concurrent"] == 1
    assert not plain.loglikelihood and plain.model_args["tokenizer_backend"] is None
    tok = backend_spec("openai-completions", "m", base_url="http://h/v1", model_args={"tokenizer": "/tok"})
    assert tok.loglikelihood and tok.model_args["tokenizer_backend"] == "huggingface"
    assert tok.model_args["tokenizer"] == "/tok"  # passed through as given


def test_endpoint_tokenizer_smollm2_means_the_local_smollm2(monkeypatch, tmp_path):
    import harness.models.smollm2 as smollm2

    monkeypatch.setattr(smollm2, "resolve_model_path", lambda name: tmp_path / f"{name}-dir")
    spec = backend_spec(
        "openai-completions", "m", base_url="http://h/v1", model_args={"tokenizer": "smollm2"}
    )
    assert spec.model_args["tokenizer"] == str(tmp_path / "smollm2-dir") and spec.loglikelihood


def test_endpoint_remote_tokenizer():
    remote = backend_spec(
        "openai-completions", "m", base_url="http://h/v1", model_args={"tokenizer_backend": "remote"}
    )
    assert remote.loglikelihood
    chat = backend_spec("openai-chat", "m", base_url="http://h/v1", model_args={"num_concurrent": 4})
    assert chat.chat_only and not chat.loglikelihood and chat.model_args["num_concurrent"] == 4
    with pytest.raises(BackendError, match="drop tokenizer_backend"):
        backend_spec(
            "openai-chat", "m", base_url="http://h/v1", model_args={"tokenizer_backend": "huggingface"}
        )


@pytest.mark.parametrize(
    ("backend", "kwargs", "message"),
    [
        ("tgi", {}, "unknown backend 'tgi'"),
        ("openai-completions", {}, "needs --base-url"),
        ("hf", {"base_url": "http://h/v1"}, "--base-url is for the endpoint backends"),
        (
            "hf",
            {"model_args": {"tensor_parallel_size": 2}},
            "tensor_parallel_size do not apply to backend 'hf'",
        ),
        ("vllm", {"model_args": {"num_concurrent": 2}}, "num_concurrent do not apply"),
        (
            "openai-completions",
            {"base_url": "u", "model_args": {"max_model_len": 9}},
            "max_model_len do not apply",
        ),
        ("openai-completions", {"base_url": "u", "model_args": {"api_key": "sk"}}, "--api-key-env VAR"),
        ("openai-completions", {"base_url": "u", "model_args": {"auth_token": "sk"}}, "keys never go"),
        ("openai-completions", {"base_url": "u", "model_args": {"header": {"A": "b"}}}, "keys never go"),
    ],
)
def test_bad_backend_options(backend, kwargs, message):
    with pytest.raises(BackendError, match=message.replace("(", r"\(").replace("'", "'")):
        backend_spec(backend, "m", **kwargs)


def test_parse_model_args():
    parsed = B.parse_model_args(["a=1", "b=2.5", "c=true", "d=None", "e=some/path", "f=x=y", " g = 3 "])
    assert parsed == {"a": 1, "b": 2.5, "c": True, "d": None, "e": "some/path", "f": "x=y", "g": 3}
    for bad in (["novalue"], ["=1"], ["a=1", "a=2"]):
        with pytest.raises(BackendError):
            B.parse_model_args(bad)


def test_api_key_lives_only_in_the_environment(monkeypatch):
    monkeypatch.setenv("MY_KEY", "sk-secret")
    monkeypatch.setenv("OPENAI_API_KEY", "previous")
    with B.api_key_environment("MY_KEY"):
        assert os.environ["OPENAI_API_KEY"] == "sk-secret"
    assert os.environ["OPENAI_API_KEY"] == "previous"
    monkeypatch.delenv("OPENAI_API_KEY")
    with B.api_key_environment("MY_KEY"):
        pass
    assert "OPENAI_API_KEY" not in os.environ
    monkeypatch.delenv("MY_KEY")
    with pytest.raises(BackendError, match="MY_KEY: that environment variable is not set"):
        B.require_api_key("MY_KEY")
    B.require_api_key(None)


class _Models(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        if self.path != "/v1/models":
            self.send_response(404)
            self.end_headers()
            return
        if self.headers.get("Authorization") != "Bearer k1":
            self.send_response(401)
            self.end_headers()
            return
        body = json.dumps({"data": [{"id": "m", "root": "/w", "created": 1, "max_model_len": 2048}]}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def models_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Models)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_endpoint_models(models_server, monkeypatch):
    monkeypatch.setenv("K", "k1")
    monkeypatch.setenv("WRONG", "k2")
    got = B.endpoint_models(models_server + "/v1/completions", "K")
    assert got == {"models": [{"id": "m", "root": "/w", "max_model_len": 2048}]}  # no volatile "created"
    with pytest.raises(BackendError, match="401 Unauthorized"):
        B.endpoint_models(models_server + "/v1/chat/completions", "WRONG")
    missing = B.endpoint_models(models_server + "/other/completions", "K")
    assert missing["models"] is None and "404" in missing["error"]
    with pytest.raises(BackendError, match="not reachable"):
        B.endpoint_models("http://127.0.0.1:9/v1/completions", None, timeout=1.0)
