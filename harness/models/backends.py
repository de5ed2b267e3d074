"""One small interface from our backend names to lm-eval's model classes and their arguments.

`harness verify` (and anything else that drives lm-eval) names a backend as the user thinks of it
(`hf`, `vllm`, `openai-completions`, `openai-chat`); lm-eval names the same thing `hf`, `vllm`,
`local-completions`, `local-chat-completions`. Keeping the mapping here means the flags a run used
are recorded once, in lm-eval's own vocabulary, and can be replayed with `lm_eval --model_args`.
API keys never pass through here: lm-eval reads `OPENAI_API_KEY` from the environment, and the
caller puts the key there for the duration of the run (see `api_key_environment`).
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.records.files import WEIGHT_SUFFIXES, sha256_bytes, sha256_file

BACKENDS: dict[str, str] = {
    "hf": "hf",
    "vllm": "vllm",
    "openai-completions": "local-completions",
    "openai-chat": "local-chat-completions",
}


class BackendError(ValueError):
    """A backend cannot be used as asked (unknown name, missing URL or key, unsupported task type)."""


@dataclass(frozen=True)
class BackendSpec:
    """What lm-eval needs to build the model, and what a report needs to identify it."""

    backend: str  # our name
    lm_eval_model: str  # lm-eval's registry name
    model_args: dict[str, Any]  # passed to lm-eval's model class (no secrets, ever)
    loglikelihood: bool  # can it score multiple-choice tasks?
    chat_only: bool  # requests always go through the endpoint's chat template
    identity: dict[str, Any] = field(default_factory=dict)  # model path/revision/checksums or endpoint

    def to_dict(self) -> dict[str, Any]:
        return {
            "backend": self.backend,
            "lm_eval_model": self.lm_eval_model,
            "model_args": dict(self.model_args),
            "loglikelihood": self.loglikelihood,
            "chat_only": self.chat_only,
            "identity": dict(self.identity),
        }


def resolve_model_name(model: str) -> str:
    """`"smollm2"` means the real SmolLM2-135M-Instruct; every other string passes through unchanged."""
    if model != "smollm2":
        return model
    try:
        from harness.models.smollm2 import resolve_model_path
    except ImportError as exc:  # the models package is optional to this module
        raise BackendError("model 'smollm2' needs harness.models.smollm2, which is not available") from exc
    return str(resolve_model_path("smollm2"))


def endpoint_url(base_url: str, chat: bool) -> str:
    """lm-eval wants the full route; users usually give the server's `/v1` root. Accept both."""
    url = base_url.rstrip("/")
    if url.endswith("/chat/completions"):
        if not chat:
            raise BackendError(
                f"--base-url {base_url} is a chat route; openai-completions needs /v1/completions"
            )
        return url
    if url.endswith("/completions"):
        if chat:
            raise BackendError(
                f"--base-url {base_url} is a completions route; openai-chat needs /v1/chat/completions"
            )
        return url
    return url + ("/chat/completions" if chat else "/completions")


def backend_spec(
    backend: str,
    model: str,
    *,
    base_url: str | None = None,
    model_args: dict[str, Any] | None = None,
    seed: int = 1234,
) -> BackendSpec:
    """Map our backend name and options to lm-eval's model name and `model_args`.

    Defaults are chosen to be safe and reproducible (float32 on CPU, greedy decoding is the task's);
    every entry of `model_args` overrides them and is passed to lm-eval verbatim.
    """
    if backend not in BACKENDS:
        raise BackendError(f"unknown backend '{backend}'; choose one of: {', '.join(BACKENDS)}")
    extra = dict(model_args or {})
    for secret in ("api_key", "auth_token", "header"):
        if secret in extra:
            raise BackendError(
                f"model arg '{secret}' is not accepted: keys never go on the command line or into a "
                "report; put the key in an environment variable and pass --api-key-env VAR"
            )
    if backend in ("hf", "vllm") and base_url:
        raise BackendError(
            f"--base-url is for the endpoint backends; backend '{backend}' loads the model itself"
        )
    check_model_args(backend, extra)
    name = BACKENDS[backend]
    if backend == "hf":
        resolved = resolve_model_name(model)
        # float32 on CPU: lm-eval's "auto" would pick the checkpoint's bf16, slow and less exact on CPUs.
        args: dict[str, Any] = {"dtype": "float32", "device": "cpu", "batch_size": 8}
        path = Path(resolved).expanduser()
        if path.is_file() and path.suffix == ".gguf":
            # transformers de-quantises GGUF files; lm-eval's hf model passes gguf_file through.
            args.update(pretrained=str(path.parent.resolve()), gguf_file=path.name)
        else:
            args["pretrained"] = str(path.resolve()) if path.exists() else resolved
        args.update(extra)
        return BackendSpec(backend, name, args, True, False, model_identity(resolved))
    if backend == "vllm":
        resolved = resolve_model_name(model)
        path = Path(resolved).expanduser()
        args = {"pretrained": str(path.resolve()) if path.exists() else resolved, "dtype": "auto"}
        if path.is_file() and path.suffix == ".gguf":
            raise BackendError(
                f"{model}: GGUF files run on --backend hf (transformers de-quantises them), not vllm"
            )
        args.update({"batch_size": "auto", "seed": seed})
        args.update(extra)
        return BackendSpec(backend, name, args, True, False, model_identity(resolved))
    if not base_url:
        raise BackendError(f"backend '{backend}' needs --base-url (the server's /v1 URL)")
    chat = backend == "openai-chat"
    args = {
        "model": model,
        "base_url": endpoint_url(base_url, chat),
        "num_concurrent": 1,
        "max_retries": 5,
        "timeout": 300,
        "seed": seed,
    }
    if chat:
        args.update(tokenizer_backend=None, tokenized_requests=False)
    elif "tokenizer" in extra:
        # Log-likelihood scoring needs the served model's tokenizer to split context from
        # continuation; with it, requests go out as token ids, so the server scores exactly them.
        extra["tokenizer"] = resolve_model_name(str(extra["tokenizer"]))
        args.update(tokenizer_backend="huggingface")
    elif extra.get("tokenizer_backend") not in ("remote", "huggingface", "tiktoken"):
        args.update(tokenizer_backend=None, tokenized_requests=False)
    args.update(extra)
    if chat and args.get("tokenizer_backend") is not None:
        raise BackendError("openai-chat sends messages, not token ids: drop tokenizer_backend")
    loglikelihood = not chat and args.get("tokenizer_backend") is not None
    identity = {"endpoint": args["base_url"], "served_model": model}
    return BackendSpec(backend, name, args, loglikelihood, chat, identity)


_ENDPOINT_ONLY = ("num_concurrent", "max_retries", "timeout", "tokenizer_backend", "tokenized_requests")
_VLLM_ONLY = ("tensor_parallel_size", "data_parallel_size", "max_model_len", "gpu_memory_utilization")


def check_model_args(backend: str, model_args: dict[str, Any]) -> None:
    """Refuse options that the chosen backend would silently ignore or misread (e.g. tensor
    parallelism on an endpoint), naming the option; anything else passes to lm-eval verbatim."""
    if backend not in BACKENDS:
        raise BackendError(f"unknown backend '{backend}'; choose one of: {', '.join(BACKENDS)}")
    wrong: list[str] = []
    if backend != "vllm":
        wrong += [k for k in _VLLM_ONLY if k in model_args]
    if backend in ("hf", "vllm"):
        wrong += [k for k in _ENDPOINT_ONLY if k in model_args]
    if wrong:
        raise BackendError(f"option(s) {', '.join(sorted(wrong))} do not apply to backend '{backend}'")


def parse_model_args(pairs: list[str] | tuple[str, ...]) -> dict[str, Any]:
    """`["k=v", ...]` from the command line to a dict; values become int, float, bool or None where
    they spell one (as lm-eval's own `--model_args` parsing does), else stay strings."""
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise BackendError(f"--model-arg {pair!r}: expected KEY=VALUE")
        if key in out:
            raise BackendError(f"--model-arg {key} given twice")
        out[key] = _typed(raw.strip())
    return out


def _typed(raw: str) -> Any:
    lowered = raw.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered in ("none", "null"):
        return None
    for cast in (int, float):
        try:
            return cast(raw)
        except ValueError:
            continue
    return raw


def require_api_key(api_key_env: str | None) -> None:
    """Fail early, before any model or data work, when the named key variable is unset."""
    if api_key_env is not None and not os.environ.get(api_key_env):
        raise BackendError(f"--api-key-env {api_key_env}: that environment variable is not set or empty")


def endpoint_models(route_url: str, api_key_env: str | None = None, timeout: float = 10.0) -> dict[str, Any]:
    """What the server says it serves (`GET /v1/models`: ids, and vLLM's `root`, the weights path).

    Recorded next to the endpoint so a report shows what answered; a server without the route is
    noted, not an error (the scores still stand for "whatever this URL served").
    """
    import httpx

    root = re.sub(r"/(chat/)?completions/?$", "", route_url.rstrip("/"))
    headers = {}
    if api_key_env and os.environ.get(api_key_env):
        headers["Authorization"] = f"Bearer {os.environ[api_key_env]}"
    last: Exception | None = None
    for attempt in range(3):
        try:
            response = httpx.get(root + "/models", headers=headers, timeout=timeout)
            if response.status_code == 401:
                raise BackendError(
                    f"{root}/models answered 401 Unauthorized: the endpoint needs a key (--api-key-env VAR)"
                )
            response.raise_for_status()
            data = response.json().get("data") or []
            keep = ("id", "root", "owned_by", "max_model_len")
            return {"models": [{k: m.get(k) for k in keep if k in m} for m in data if isinstance(m, dict)]}
        except BackendError:
            raise
        except (httpx.HTTPError, ValueError, AttributeError) as exc:
            last = exc
            time.sleep(0.5 * 2**attempt)
    if isinstance(last, httpx.TransportError):
        raise BackendError(f"endpoint {root} is not reachable: {type(last).__name__}: {last}")
    return {"models": None, "error": f"{type(last).__name__}: {last}"}


def model_identity(model: str) -> dict[str, Any]:
    """Path and revision of a local model: its git commit if it is a checkout, else weight checksums.

    A Hub name that is not a local path is recorded as given (no network here to resolve it).
    """
    path = Path(model).expanduser()
    if not path.exists():
        return {"model": model, "local": False, "revision": None}
    path = path.resolve()
    out: dict[str, Any] = {"model": str(path), "local": True, "revision": None, "files": {}}
    root = path if path.is_dir() else path.parent
    if (root / ".git").exists():
        with contextlib.suppress(OSError, subprocess.CalledProcessError):
            out["revision"] = subprocess.run(
                ["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
            ).stdout.strip()
    files = [path] if path.is_file() else sorted(p for p in path.iterdir() if p.suffix in WEIGHT_SUFFIXES)
    if path.is_dir() and (path / "config.json").exists():
        files.append(path / "config.json")
    out["files"] = {p.name: sha256_file(p) for p in files}
    if out["revision"] is None and out["files"]:
        combined = sha256_bytes("".join(f"{k}:{v}\n" for k, v in sorted(out["files"].items())).encode())
        out["revision"] = "sha256:" + combined
    return out


@contextlib.contextmanager
def api_key_environment(api_key_env: str | None) -> Iterator[None]:
    """Expose the key named by `api_key_env` as `OPENAI_API_KEY` (what lm-eval reads), then restore.

    The key's value is only ever read from the environment and put back into it: it is never an
    argument, so it cannot end up in a recorded `model_args`, a log line or a report.
    """
    if not api_key_env:
        yield
        return
    value = os.environ.get(api_key_env)
    if not value:
        raise BackendError(f"--api-key-env {api_key_env}: that environment variable is not set or empty")
    previous = os.environ.get("OPENAI_API_KEY")
    os.environ["OPENAI_API_KEY"] = value
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("OPENAI_API_KEY", None)
        else:
            os.environ["OPENAI_API_KEY"] = previous
