"""Servers that exist only to test harness: llama-cpp-python's server on a GGUF (a real, independent
OpenAI-compatible server for the fingerprint's evidence base and the quantisation tests) and the relay
test double (``harness.testing.proxy_server``) in front of another server.

Moved here from ``harness.models.server_process`` (issue 10): the product starts only its own server
(``serve_transformers``, which the audit launches); these use the same ``start_server`` lifecycle.
"""

from __future__ import annotations

import sys
from pathlib import Path

from harness.models.server_process import PORT_PLACEHOLDER, ServerError, ServerHandle, start_server


def serve_llama_cpp(
    gguf_path: str | Path,
    *,
    served_model_name: str | None = None,
    n_ctx: int = 2048,
    seed: int = 0,
    port: int | None = None,
    timeout: float = 180,
    env: dict[str, str] | None = None,
) -> ServerHandle:
    """Start llama-cpp-python's OpenAI-compatible server on a GGUF (needs ``llama-cpp-python[server]``).

    ``--logits_all true`` makes it return prompt logprobs (``echo``), which loglikelihood scoring needs.
    """
    try:
        import llama_cpp  # noqa: F401
    except ImportError as e:
        raise ServerError(
            "llama-cpp-python is not installed: pip install 'llama-cpp-python[server]' "
            "(build with CMAKE_ARGS=-DGGML_NATIVE=OFF for portable CPUs)"
        ) from e
    cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf_path), "--host", "127.0.0.1"]
    cmd += ["--port", PORT_PLACEHOLDER, "--logits_all", "true", "--n_ctx", str(n_ctx), "--seed", str(seed)]
    if served_model_name:
        cmd += ["--model_alias", served_model_name]
    return start_server(cmd, port=port, timeout=timeout, env=env)


def serve_proxy(
    upstream: str,
    *,
    upstream_model: str,
    served_model_name: str,
    delete: list[str] | tuple[str, ...] = (),
    replace: dict[str, str] | None = None,
    strip_logprobs: bool = False,
    system_prompt: str | None = None,
    cache: bool = False,
    spare_echo: bool = False,
    collapse_whitespace: bool = False,
    strip_top_logprobs: bool = False,
    port: int | None = None,
    timeout: float = 60,
) -> ServerHandle:
    """Start ``harness.testing.proxy_server``: a relay claiming ``served_model_name`` in front of ``upstream``."""
    cmd = [sys.executable, "-m", "harness.testing.proxy_server", "--upstream", upstream]
    cmd += [
        "--upstream-model",
        upstream_model,
        "--served-model-name",
        served_model_name,
        "--port",
        PORT_PLACEHOLDER,
    ]
    for word in delete:
        cmd += ["--delete", word]
    for old, new in (replace or {}).items():
        cmd += ["--replace", f"{old}={new}"]
    if strip_logprobs:
        cmd.append("--strip-logprobs")
    if system_prompt:
        cmd += ["--system-prompt", system_prompt]
    if cache:
        cmd.append("--cache")
    if spare_echo:
        cmd.append("--spare-echo")
    if collapse_whitespace:
        cmd.append("--collapse-whitespace")
    if strip_top_logprobs:
        cmd.append("--strip-top-logprobs")
    return start_server(cmd, port=port, timeout=timeout)
