"""A relay that claims one model and serves another: the dishonest endpoint fingerprinting must expose.

It answers the OpenAI routes under its own model name, forwards each request to an upstream server
(any OpenAI-compatible ``.../v1``) with the upstream's model name, and can tamper with the answer the way
hosted relays were caught doing: delete or replace words (e.g. a vendor's name) in the text, strip the
logprobs that would give the upstream away, prepend a hidden system prompt to chat requests, and answer
repeated requests from a cache. Used by the fingerprint tests; never by harness itself.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import typer

log = logging.getLogger("harness.testing.proxy_server")


class Tamper:
    """What the relay does to requests and responses (pure, so tests can check it without a server)."""

    def __init__(
        self,
        *,
        delete: list[str] | None = None,
        replace: dict[str, str] | None = None,
        strip_logprobs: bool = False,
        system_prompt: str | None = None,
        spare_echo: bool = False,
        collapse_whitespace: bool = False,
        strip_top_logprobs: bool = False,
    ):
        self.strip_top_logprobs = strip_top_logprobs  # keep each token's logprob, drop the top-k lists
        self.spare_echo = spare_echo  # tamper only generated text, never the echoed prompt
        self.collapse_whitespace = collapse_whitespace  # honest text handling: runs of whitespace -> " "
        self.delete = list(delete or [])
        self.replace = dict(replace or {})
        self.strip_logprobs = strip_logprobs
        self.system_prompt = system_prompt
        self._patterns = [re.compile(rf" ?(?<![\w-]){re.escape(w)}(?![\w-])") for w in self.delete]

    def text(self, s: str) -> str:
        if self.collapse_whitespace:
            s = re.sub(r"\s+", " ", s)
        for old, new in self.replace.items():
            s = re.sub(rf"(?<![\w-]){re.escape(old)}(?![\w-])", new, s)
        for pat in self._patterns:
            s = pat.sub("", s)
        return s

    def request(self, route: str, body: dict[str, Any], upstream_model: str) -> dict[str, Any]:
        body = dict(body, model=upstream_model)
        if (
            route.endswith("/chat/completions")
            and self.system_prompt
            and isinstance(body.get("messages"), list)
        ):
            body["messages"] = [{"role": "system", "content": self.system_prompt}, *body["messages"]]
        return body

    def refuse(self, route: str, body: dict[str, Any]) -> tuple[int, str] | None:
        """(HTTP status, message) to answer instead of forwarding, or None (a subclass may refuse)."""
        return None

    def response(
        self, data: dict[str, Any], served_model_name: str, request: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        if "model" in data:
            data["model"] = served_model_name
        prompt = (request or {}).get("prompt")
        echoed = bool((request or {}).get("echo")) and isinstance(prompt, str)
        for choice in data.get("choices") or []:
            if isinstance(choice.get("text"), str):
                text = choice["text"]
                if self.spare_echo and echoed and text.startswith(prompt):
                    choice["text"] = prompt + self.text(text[len(prompt) :])
                else:
                    choice["text"] = self.text(text)
            msg = choice.get("message")
            if isinstance(msg, dict) and isinstance(msg.get("content"), str):
                msg["content"] = self.text(msg["content"])
            if self.strip_logprobs:
                choice["logprobs"] = None
            elif self.strip_top_logprobs and isinstance(choice.get("logprobs"), dict):
                lp = choice["logprobs"]
                if "top_logprobs" in lp:
                    lp["top_logprobs"] = None
                for entry in lp.get("content") or []:
                    if isinstance(entry, dict):
                        entry["top_logprobs"] = []
        return data


def make_handler(upstream: str, upstream_model: str, served_model_name: str, tamper: Tamper, cache: bool):
    client = httpx.Client(timeout=300.0)
    memo: dict[str, tuple[int, bytes]] = {}
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            log.info("%s %s", self.address_string(), format % args)

        def _send(self, status: int, payload: bytes, ctype: str = "application/json") -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0].rstrip("/")
            if path == "/health":
                self._send(200, b"{}")
            elif path == "/v1/models":
                body = {
                    "object": "list",
                    "data": [{"id": served_model_name, "object": "model", "owned_by": "proxy"}],
                }
                self._send(200, json.dumps(body).encode())
            else:
                self._send(404, json.dumps({"error": {"message": f"no route GET {path}"}}).encode())

        def do_POST(self) -> None:
            path = self.path.split("?", 1)[0].rstrip("/")
            if path not in ("/v1/completions", "/v1/chat/completions"):
                self._send(404, json.dumps({"error": {"message": f"no route POST {path}"}}).encode())
                return
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            try:
                body = json.loads(raw or b"{}")
            except json.JSONDecodeError:
                self._send(400, json.dumps({"error": {"message": "body is not JSON"}}).encode())
                return
            if body.get("model") not in (None, served_model_name):
                self._send(
                    404,
                    json.dumps(
                        {"error": {"message": f"The model `{body.get('model')}` does not exist."}}
                    ).encode(),
                )
                return
            key = json.dumps([path, {k: v for k, v in body.items() if k != "seed"}], sort_keys=True)
            if cache:
                with lock:
                    hit = memo.get(key)
                if hit is not None:
                    self._send(*hit)
                    return
            route = path.removeprefix("/v1")
            refusal = tamper.refuse(route, body)
            if refusal is not None:
                self._send(refusal[0], json.dumps({"error": {"message": refusal[1]}}).encode())
                return
            try:
                resp = client.post(
                    upstream.rstrip("/") + route, json=tamper.request(route, body, upstream_model)
                )
            except httpx.HTTPError as e:
                self._send(502, json.dumps({"error": {"message": f"upstream failed: {e}"}}).encode())
                return
            if resp.status_code != 200:
                self._send(resp.status_code, resp.content)
                return
            out = (200, json.dumps(tamper.response(resp.json(), served_model_name, body)).encode())
            if cache:
                with lock:
                    memo[key] = out
            self._send(*out)

    return Handler


def serve(
    upstream: str = typer.Option(..., "--upstream", help="upstream OpenAI-compatible base URL (.../v1)"),
    upstream_model: str = typer.Option(..., "--upstream-model", help="model name the upstream serves"),
    served_model_name: str = typer.Option(..., "--served-model-name", help="the name this relay claims"),
    port: int = typer.Option(8000, "--port"),
    host: str = typer.Option("127.0.0.1", "--host"),
    delete: list[str] = typer.Option([], "--delete", help="word to delete from answers (repeatable)"),
    replace: list[str] = typer.Option([], "--replace", help="OLD=NEW word replacement (repeatable)"),
    strip_logprobs: bool = typer.Option(False, "--strip-logprobs"),
    system_prompt: str | None = typer.Option(None, "--system-prompt", help="hidden system prompt for chat"),
    cache: bool = typer.Option(False, "--cache", help="answer repeated requests (ignoring seed) from memory"),
    spare_echo: bool = typer.Option(
        False, "--spare-echo", help="tamper with generated text only, not echoes"
    ),
    collapse_whitespace: bool = typer.Option(
        False, "--collapse-whitespace", help="collapse runs of whitespace in returned text (honest handling)"
    ),
    strip_top_logprobs: bool = typer.Option(
        False, "--strip-top-logprobs", help="keep token logprobs, drop the top-k alternatives"
    ),
) -> None:
    """Serve a tampering relay in front of an upstream OpenAI-compatible server."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    pairs = {}
    for r in replace:
        if "=" not in r:
            raise typer.BadParameter(f"--replace {r!r}: expected OLD=NEW")
        old, new = r.split("=", 1)
        pairs[old] = new
    tamper = Tamper(
        delete=delete,
        replace=pairs,
        strip_logprobs=strip_logprobs,
        system_prompt=system_prompt,
        spare_echo=spare_echo,
        collapse_whitespace=collapse_whitespace,
        strip_top_logprobs=strip_top_logprobs,
    )
    server = ThreadingHTTPServer(
        (host, port), make_handler(upstream, upstream_model, served_model_name, tamper, cache)
    )
    server.daemon_threads = True
    log.info(
        "relay %r -> %s (%s) on http://%s:%d/v1", served_model_name, upstream, upstream_model, host, port
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    typer.run(serve)
