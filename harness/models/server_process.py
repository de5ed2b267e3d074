"""Start an HTTP model server as a child process, wait until it answers, and always clean it up.

Used by tests and by the audit ("a local endpoint the audit starts itself"). The server runs in its
own process group so that killing it also kills anything it forked; its output goes to a log file
whose tail is put into the error when it fails to start or dies.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

PORT_PLACEHOLDER = "{port}"


class ServerError(RuntimeError):
    """The server process died or did not become ready; the message carries its log tail."""


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free a moment ago (the OS picks it; a race with other processes is possible)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


class ServerHandle:
    """A running server: ``base_url`` ends in ``/v1``; use as a context manager or call ``close()``."""

    def __init__(self, process: subprocess.Popen, port: int, host: str, log_path: Path, cmd: list[str]):
        self.process = process
        self.port = port
        self.host = host
        self.log_path = log_path
        self.cmd = cmd

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1"

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def alive(self) -> bool:
        return self.process.poll() is None

    def close(self, grace: float = 10.0) -> None:
        """SIGTERM the process group, then SIGKILL after ``grace`` seconds; idempotent."""
        if self.process.poll() is None:
            for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
                try:
                    os.killpg(self.process.pid, sig)
                except ProcessLookupError:
                    break
                try:
                    self.process.wait(timeout=wait)
                    break
                except subprocess.TimeoutExpired:
                    continue
        self.log_path.unlink(missing_ok=True)

    def __enter__(self) -> ServerHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"ServerHandle(pid={self.process.pid}, base_url={self.base_url!r})"


def start_server(
    cmd: list[str],
    *,
    port: int | None = None,
    host: str = "127.0.0.1",
    ready_path: str = "/v1/models",
    timeout: float = 120,
    env: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> ServerHandle:
    """Run ``cmd`` (every ``"{port}"`` in it replaced by the port) and wait until GET ready_path is 200.

    ``port`` defaults to a free loopback port. ``env`` entries are added to the current environment.
    ``headers`` go with the readiness probe (e.g. an Authorization header). Raises ServerError with
    the log tail if the process exits or is not ready within ``timeout`` seconds.
    """
    port = port or free_port(host)
    argv = [part.replace(PORT_PLACEHOLDER, str(port)) for part in cmd]
    fd, log_name = tempfile.mkstemp(prefix="harness-server-", suffix=".log")
    log_path = Path(log_name)
    with os.fdopen(fd, "wb") as log_file:
        process = subprocess.Popen(
            argv,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            # PASSIVE: idle OpenMP threads sleep instead of spinning. On a machine with as many busy processes
            # as cores (a test run: the server and its client) spinning threads stall each other's parallel
            # regions; measured here, a SmolLM2 forward took 4x longer with the default policy.
            env={"OMP_WAIT_POLICY": "PASSIVE", **os.environ, **(env or {})},
            start_new_session=True,  # own process group: close() kills the server and its children
        )
    handle = ServerHandle(process, port, host, log_path, argv)
    deadline = time.monotonic() + timeout
    try:
        with httpx.Client(timeout=5.0) as client:
            while True:
                if process.poll() is not None:
                    raise ServerError(
                        f"server exited with code {process.returncode} before it was ready: {' '.join(argv)}\n"
                        f"--- log tail ---\n{handle.log_tail()}"
                    )
                try:
                    if client.get(handle.url + ready_path, headers=headers).status_code == 200:
                        return handle
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise ServerError(
                        f"server not ready after {timeout:.0f}s: {' '.join(argv)}\n--- log tail ---\n{handle.log_tail()}"
                    )
                time.sleep(0.25)
    except BaseException:
        # Read the tail before close() deletes the log; the message above already holds it.
        handle.close(grace=2.0)
        raise


def serve_transformers(
    model_dir: str | Path,
    *,
    served_model_name: str | None = None,
    dtype: str = "float32",
    seed: int = 0,
    max_model_len: int | None = None,
    api_key_env: str | None = None,
    port: int | None = None,
    timeout: float = 180,
    env: dict[str, str] | None = None,
) -> ServerHandle:
    """Start harness's own OpenAI-compatible server (``harness.models.openai_server``) on a model dir.

    ``model_dir`` may be ``"smollm2"``. With ``api_key_env``, the server requires that key, read from
    the named environment variable (of this process, or ``env``); the probe sends it too.
    """
    cmd = [sys.executable, "-m", "harness.models.openai_server", "--model", str(model_dir)]
    cmd += ["--port", PORT_PLACEHOLDER, "--dtype", dtype, "--seed", str(seed)]
    if served_model_name:
        cmd += ["--served-model-name", served_model_name]
    if max_model_len:
        cmd += ["--max-model-len", str(max_model_len)]
    headers = None
    if api_key_env:
        cmd += ["--api-key-env", api_key_env]
        key = (env or {}).get(api_key_env) or os.environ.get(api_key_env)
        if not key:
            raise ServerError(f"environment variable {api_key_env} is not set")
        headers = {"Authorization": f"Bearer {key}"}
    return start_server(cmd, port=port, timeout=timeout, env=env, headers=headers)
