"""An endpoint that is broken on purpose, to check that clients fail clearly instead of crashing.

Modes: ``html`` (a 200 web page, as when the URL points at a website), ``500`` (every call fails),
``garbage`` (a 200 body that is not JSON), ``schema`` (JSON without ``choices``), ``401`` (auth wall),
``flaky`` (the first two POSTs fail with 503, then a fixed valid completion). It runs in a thread of the
calling process (``start``), since it needs no model.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MODES = ("html", "500", "garbage", "schema", "401", "flaky")
HTML = b"<!DOCTYPE html><html><head><title>Welcome</title></head><body><h1>It works!</h1></body></html>"


def _valid_completion(body: dict[str, Any]) -> dict[str, Any]:
    text = " ok"
    return {
        "id": "cmpl-faulty",
        "object": "text_completion",
        "model": body.get("model", "x"),
        "choices": [{"index": 0, "text": text, "logprobs": None, "finish_reason": "length"}],
        "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4},
    }


def make_handler(mode: str):
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}; known: {', '.join(MODES)}")
    state = {"posts": 0}
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _send(self, status: int, payload: bytes, ctype: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def _answer(self, body: dict[str, Any]) -> None:
            if mode == "html":
                self._send(200, HTML, "text/html; charset=utf-8")
            elif mode == "500":
                self._send(
                    500,
                    json.dumps({"error": {"message": "internal server error"}}).encode(),
                    "application/json",
                )
            elif mode == "garbage":
                self._send(200, b"\x00\x01 this is {not json", "application/json")
            elif mode == "schema":
                self._send(200, json.dumps({"result": "hello", "status": "ok"}).encode(), "application/json")
            elif mode == "401":
                self._send(
                    401, json.dumps({"error": {"message": "invalid api key"}}).encode(), "application/json"
                )
            else:  # flaky
                with lock:
                    state["posts"] += 1
                    n = state["posts"]
                if n <= 2:
                    self._send(503, b'{"error": {"message": "overloaded"}}', "application/json")
                else:
                    self._send(200, json.dumps(_valid_completion(body)).encode(), "application/json")

        def do_GET(self) -> None:
            if mode == "flaky":
                self._send(404, b'{"error": {"message": "no models route"}}', "application/json")
            else:
                self._answer({})

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            try:
                body = json.loads(raw or b"{}")
            except json.JSONDecodeError:
                body = {}
            self._answer(body if isinstance(body, dict) else {})

    return Handler


class FaultyServer:
    """A running faulty server in a daemon thread; ``base_url`` ends in /v1; ``close()`` stops it."""

    def __init__(self, mode: str, host: str = "127.0.0.1"):
        self.server = ThreadingHTTPServer((host, 0), make_handler(mode))
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.base_url = f"http://{host}:{self.server.server_address[1]}/v1"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> FaultyServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def start(mode: str) -> FaultyServer:
    return FaultyServer(mode)
