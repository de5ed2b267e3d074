"""Relays for the zoo: API modes, text normalisation and output-only word filters over a real upstream.

They extend ``harness.testing.proxy_server.Tamper`` (same HTTP relay, same process helper) with what
issue 13 needs to test every endpoint mode and every text handling:

* ``api_mode`` degrades what the endpoint offers, as real providers do:
  ``full`` (echo with prompt top-k logprobs; chat top-k), ``prompt_token_logprobs`` (logprobs of the
  tokens but no top-k alternatives), ``generated_logprobs`` (echo refused with HTTP 400, as OpenAI's
  API refuses echo with logprobs for newer models; generated-token logprobs kept), ``chat_logprobs``
  (only ``/chat/completions``, with top-k logprobs), ``no_logprobs`` (only chat, no logprobs: most
  commercial APIs).
* ``normalise`` rewrites whitespace the way honest serving stacks can: ``whitespace`` collapses every
  run of whitespace to one character (a newline if the run holds one, else a space), ``decode_cleanup``
  applies transformers' ``clean_up_tokenization`` (no space before ``. , ! ?`` and English
  contractions), as a detokenise-then-return relay with ``clean_up_tokenization_spaces=True`` does.
  Weights are untouched: these are honest endpoints whose text differs.
* ``delete_generated`` deletes words from *generated* text only (the completion after an echoed prompt,
  chat content), never from the echoed prompt: the Reflection relay's tell (it filtered "Claude" out of
  answers), which an exact echo says nothing about.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from dataclasses import asdict, dataclass, field
from http.server import ThreadingHTTPServer
from typing import Any

import typer

from harness.models.server_process import PORT_PLACEHOLDER, ServerHandle, start_server
from harness.testing.proxy_server import Tamper, make_handler

log = logging.getLogger("harness.testing.relays")

API_MODES = ("full", "prompt_token_logprobs", "generated_logprobs", "chat_logprobs", "no_logprobs")
NORMALISATIONS = (None, "whitespace", "decode_cleanup")
# transformers' PreTrainedTokenizerBase.clean_up_tokenization, in order.
_CLEANUP = ((" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"), (" n't", "n't"))
_CLEANUP += ((" 'm", "'m"), (" 's", "'s"), (" 've", "'ve"), (" 're", "'re"))
_WS_RUN = re.compile(r"\s{2,}")


def collapse_whitespace(text: str) -> str:
    """Every run of 2+ whitespace characters becomes one: a newline if the run holds one, else a space."""
    return _WS_RUN.sub(lambda m: "\n" if "\n" in m.group(0) else " ", text)


def decode_cleanup(text: str) -> str:
    """transformers' ``clean_up_tokenization`` (what ``clean_up_tokenization_spaces=True`` applies)."""
    for old, new in _CLEANUP:
        text = text.replace(old, new)
    return text


def delete_words(text: str, words: list[str] | tuple[str, ...]) -> str:
    """Delete whole-word occurrences (and one space before each), as ``Tamper`` does."""
    for w in words:
        text = re.sub(rf" ?(?<![\w-]){re.escape(w)}(?![\w-])", "", text)
    return text


@dataclass(frozen=True)
class RelayConfig:
    """What a zoo relay does; JSON round-trips through ``--config``."""

    api_mode: str = "full"
    normalise: str | None = None
    delete_generated: tuple[str, ...] = ()
    strip_logprobs: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.api_mode not in API_MODES:
            raise ValueError(f"api_mode must be one of {API_MODES}, got {self.api_mode!r}")
        if self.normalise not in NORMALISATIONS:
            raise ValueError(f"normalise must be one of {NORMALISATIONS}, got {self.normalise!r}")

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["delete_generated"] = list(self.delete_generated)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RelayConfig:
        d = dict(d)
        d["delete_generated"] = tuple(d.get("delete_generated") or ())
        return cls(**d)

    @property
    def is_passthrough(self) -> bool:
        return self == RelayConfig()


class ZooTamper(Tamper):
    """``Tamper`` plus API modes, honest text normalisation and output-only word deletion (pure)."""

    def __init__(self, config: RelayConfig):
        super().__init__(strip_logprobs=config.strip_logprobs or config.api_mode == "no_logprobs")
        self.config = config

    def refuse(self, route: str, body: dict[str, Any]) -> tuple[int, str] | None:
        mode = self.config.api_mode
        if route == "/completions" and mode in ("chat_logprobs", "no_logprobs"):
            return 404, "This endpoint serves /v1/chat/completions only."
        if route == "/completions" and mode == "generated_logprobs" and body.get("echo"):
            return 400, "echo is not supported with this model; request logprobs of generated tokens"
        return None

    def _generated(self, text: str) -> str:
        if self.config.delete_generated:
            text = delete_words(text, self.config.delete_generated)
        return text

    def _normalised(self, text: str) -> str:
        if self.config.normalise == "whitespace":
            return collapse_whitespace(text)
        if self.config.normalise == "decode_cleanup":
            return decode_cleanup(text)
        return text

    def completion_text(self, text: str, request: dict[str, Any] | None) -> str:
        """The relayed text of a completion choice: filter the generated part, then normalise it all."""
        prompt = (request or {}).get("prompt")
        if (request or {}).get("echo") and isinstance(prompt, str) and text.startswith(prompt):
            text = prompt + self._generated(text[len(prompt) :])
        else:
            text = self._generated(text)
        return self._normalised(text)

    def response(
        self, data: dict[str, Any], served_model_name: str, request: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        data = super().response(data, served_model_name, request)
        for choice in data.get("choices") or []:
            if isinstance(choice.get("text"), str):
                choice["text"] = self.completion_text(choice["text"], request)
            msg = choice.get("message")
            if isinstance(msg, dict) and isinstance(msg.get("content"), str):
                msg["content"] = self._normalised(self._generated(msg["content"]))
            lp = choice.get("logprobs")
            if self.config.api_mode == "prompt_token_logprobs" and isinstance(lp, dict):
                if "top_logprobs" in lp:
                    lp["top_logprobs"] = None
                for entry in lp.get("content") or []:
                    if isinstance(entry, dict):
                        entry["top_logprobs"] = []
        return data


def serve(
    upstream: str = typer.Option(..., "--upstream"),
    upstream_model: str = typer.Option(..., "--upstream-model"),
    served_model_name: str = typer.Option(..., "--served-model-name"),
    config: str = typer.Option("{}", "--config", help="RelayConfig as JSON"),
    port: int = typer.Option(8000, "--port"),
    host: str = typer.Option("127.0.0.1", "--host"),
) -> None:
    """Serve a zoo relay in front of an upstream OpenAI-compatible server."""
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(message)s")
    tamper = ZooTamper(RelayConfig.from_dict(json.loads(config)))
    server = ThreadingHTTPServer(
        (host, port), make_handler(upstream, upstream_model, served_model_name, tamper, False)
    )
    server.daemon_threads = True
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def serve_relay(
    upstream: str, *, upstream_model: str, served_model_name: str, config: RelayConfig, timeout: float = 60
) -> ServerHandle:
    """Start a zoo relay process in front of ``upstream`` (a ``.../v1`` URL); returns its handle."""
    cmd = [sys.executable, "-m", "harness.testing.relays", "--upstream", upstream]
    cmd += ["--upstream-model", upstream_model, "--served-model-name", served_model_name]
    cmd += ["--config", json.dumps(config.to_dict()), "--port", PORT_PLACEHOLDER]
    return start_server(cmd, timeout=timeout)


if __name__ == "__main__":
    typer.run(serve)
