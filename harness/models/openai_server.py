"""An OpenAI-compatible HTTP server over a local transformers causal LM, with vLLM's response fields.

Why it exists: verify and fingerprint talk to models through the OpenAI API (lm-eval's
``local-completions`` / ``local-chat-completions``, the ``openai`` client). To test those paths for
real, and to let an audit start "a local endpoint it controls", we need a server whose numbers we can
check against the model itself. vLLM needs a GPU; this serves any ``save_pretrained`` directory on CPU.

Semantics (matching vLLM's OpenAI server where the two differ from OpenAI's documentation):
- ``logprobs`` are the model's raw log-softmax over the full vocabulary, before temperature/top-p;
  ``top_logprobs`` holds the k most likely tokens plus the chosen one when it is not among them.
- ``echo`` returns the prompt tokens with their logprobs (the first is ``null``) before the completion.
- ``temperature`` 0 is greedy; otherwise temperature/top-k/top-p sampling with a ``torch.Generator``
  seeded from ``seed`` (or, without one, from the server's ``--seed`` stream), so seeded requests are
  reproducible. Each prompt of a batch is sampled from a fresh generator with the same seed.
- Stop strings are removed from the returned text; the EOS token ends a sequence with
  ``finish_reason="stop"`` and is counted in ``completion_tokens`` but not shown in the text.
"""

from __future__ import annotations

import json
import logging
import os
import random
import threading
import time
import uuid
from dataclasses import dataclass, field
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import typer

log = logging.getLogger("harness.models.openai_server")

MAX_LOGPROBS = 20  # vLLM's default --max-logprobs
DEFAULT_COMPLETION_MAX_TOKENS = 16  # OpenAI's and vLLM's default for /v1/completions


class APIError(Exception):
    """An error returned to the client as OpenAI's ``{"error": {...}}`` body."""

    def __init__(self, status: int, message: str, *, type_: str | None = None, param: str | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.param = param
        self.type = type_ or {
            400: "BadRequestError",
            401: "AuthenticationError",
            404: "NotFoundError",
            405: "MethodNotAllowedError",
            413: "RequestTooLargeError",
        }.get(status, "InternalServerError")

    def body(self) -> dict:
        return {
            "error": {"message": self.message, "type": self.type, "param": self.param, "code": self.status}
        }


@dataclass
class Sequence:
    """One sampled continuation with the per-token numbers both endpoints report."""

    token_ids: list[int]
    token_logprobs: list[float]
    top: list[list[tuple[int, float]]]
    text: str
    finish_reason: str


@dataclass
class PromptScores:
    """Echo data for a prompt: logprob of each prompt token given the ones before (first is None)."""

    token_logprobs: list[float | None]
    top: list[list[tuple[int, float]] | None]


@dataclass(eq=False)  # identity hash: token_text is lru-cached per engine
class Engine:
    """A loaded causal LM plus tokenizer; every model call goes through ``lock`` (one at a time)."""

    model: Any
    tokenizer: Any
    served_model_name: str
    model_path: str
    max_model_len: int
    eos_token_ids: frozenset[int]
    seed: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    _seed_stream: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self._seed_stream = random.Random(self.seed)

    @property
    def vocab_size(self) -> int:
        return int(self.model.get_output_embeddings().weight.shape[0])

    def next_seed(self) -> int:
        return self._seed_stream.getrandbits(63)

    @lru_cache(maxsize=1 << 16)  # noqa: B019 - the engine lives as long as the server
    def token_text(self, token_id: int) -> str:
        """The text of one token as vLLM reports it (may be a replacement char for partial UTF-8)."""
        return self.tokenizer.decode([token_id], skip_special_tokens=False)

    def run(
        self,
        prompt_ids: list[int],
        *,
        n: int,
        max_tokens: int,
        temperature: float,
        top_p: float,
        top_k: int,
        stop: list[str],
        k: int,
        seed: int,
        echo: bool,
        ignore_eos: bool = False,
    ) -> tuple[PromptScores | None, list[Sequence]]:
        """Score the prompt once, then draw ``n`` continuations reusing its KV cache."""
        import copy

        import torch

        generator = torch.Generator().manual_seed(seed)
        with self.lock, torch.inference_mode():
            ids = torch.tensor([prompt_ids], dtype=torch.long)
            out = self.model(input_ids=ids, use_cache=max_tokens > 0)
            logits = out.logits[0].float()
            scores = None
            if echo:
                lps = torch.log_softmax(logits[:-1], dim=-1)
                targets = ids[0, 1:]
                chosen = lps.gather(1, targets[:, None])[:, 0].tolist()
                scores = PromptScores(
                    token_logprobs=[None, *chosen],
                    top=[None] + [_top(lps[i], int(targets[i]), k) for i in range(len(chosen))],
                )
            seqs = []
            if max_tokens == 0:
                return scores, [Sequence([], [], [], "", "length") for _ in range(n)]
            for i in range(n):
                cache = out.past_key_values if i == n - 1 else copy.deepcopy(out.past_key_values)
                seqs.append(
                    self._sample(
                        logits[-1],
                        cache,
                        max_tokens=max_tokens,
                        temperature=temperature,
                        top_p=top_p,
                        top_k=top_k,
                        stop=stop,
                        k=k,
                        generator=generator,
                        ignore_eos=ignore_eos,
                    )
                )
            return scores, seqs

    def _sample(
        self, next_logits, cache, *, max_tokens, temperature, top_p, top_k, stop, k, generator, ignore_eos
    ):
        import torch

        token_ids: list[int] = []
        token_logprobs: list[float] = []
        top: list[list[tuple[int, float]]] = []
        finish = "length"
        text = ""
        for step in range(max_tokens):
            lp = torch.log_softmax(next_logits, dim=-1)
            tok = _choose(next_logits, temperature=temperature, top_p=top_p, top_k=top_k, generator=generator)
            token_ids.append(tok)
            token_logprobs.append(float(lp[tok]))
            top.append(_top(lp, tok, k))
            if tok in self.eos_token_ids and not ignore_eos:
                finish = "stop"
                break
            # Text so far (the EOS branch above keeps the previous step's text, without the EOS).
            text = self.tokenizer.decode(token_ids, skip_special_tokens=True)
            cut = _first_stop(text, stop)
            if cut is not None:
                text = text[:cut]
                finish = "stop"
                break
            if step + 1 == max_tokens:
                break
            # The cache knows how many positions it holds, so positions continue from the prompt.
            out = self.model(input_ids=torch.tensor([[tok]]), past_key_values=cache, use_cache=True)
            cache = out.past_key_values
            next_logits = out.logits[0, -1].float()
        return Sequence(token_ids, token_logprobs, top, text, finish)


def _choose(logits, *, temperature: float, top_p: float, top_k: int, generator) -> int:
    """Greedy at temperature 0, else temperature -> top-k -> top-p (nucleus) sampling."""
    import torch

    if temperature == 0:
        return int(torch.argmax(logits))
    scaled = logits / temperature
    if 0 < top_k < scaled.shape[-1]:
        kth = torch.topk(scaled, top_k).values[-1]
        scaled = scaled.masked_fill(scaled < kth, float("-inf"))
    probs = torch.softmax(scaled, dim=-1)
    if top_p < 1.0:
        sorted_probs, order = torch.sort(probs, descending=True)
        before = torch.cumsum(sorted_probs, dim=-1) - sorted_probs
        sorted_probs = sorted_probs.masked_fill(before >= top_p, 0.0)
        probs = torch.zeros_like(probs).scatter(0, order, sorted_probs)
    return int(torch.multinomial(probs, 1, generator=generator))


def _top(logprobs_row, chosen: int, k: int) -> list[tuple[int, float]]:
    """Top-k (id, logprob) pairs, best first, plus the chosen token if it is not among them."""
    import torch

    pairs: list[tuple[int, float]] = []
    if k > 0:
        vals, idx = torch.topk(logprobs_row, k)
        pairs = list(zip(idx.tolist(), vals.tolist(), strict=True))
    if chosen not in {i for i, _ in pairs}:
        pairs.append((chosen, float(logprobs_row[chosen])))
    return pairs


def _first_stop(text: str, stop: list[str]) -> int | None:
    hits = [i for s in stop if s and (i := text.find(s)) >= 0]
    return min(hits) if hits else None


# ---------------------------------------------------------------- request parsing (pure) ----


def _get(body: dict, name: str, types: type | tuple, default: Any) -> Any:
    value = body.get(name, default)
    if value is None:
        return default
    if isinstance(value, bool) and bool not in (types if isinstance(types, tuple) else (types,)):
        raise APIError(400, f"'{name}' must be {_type_names(types)}, got a boolean", param=name)
    if not isinstance(value, types):
        raise APIError(400, f"'{name}' must be {_type_names(types)}, got {type(value).__name__}", param=name)
    return value


def _type_names(types: type | tuple) -> str:
    types = types if isinstance(types, tuple) else (types,)
    return " or ".join(t.__name__ for t in types)


@dataclass(frozen=True)
class SamplingParams:
    n: int
    max_tokens: int | None
    temperature: float
    top_p: float
    top_k: int
    stop: list[str]
    seed: int | None
    ignore_eos: bool


def parse_sampling(body: dict) -> SamplingParams:
    """Validate the sampling fields both endpoints share, with OpenAI's defaults and error messages."""
    n = _get(body, "n", int, 1)
    if n < 1:
        raise APIError(400, "'n' must be at least 1", param="n")
    max_tokens = _get(body, "max_tokens", int, None)
    if body.get("max_completion_tokens") is not None:
        max_tokens = _get(body, "max_completion_tokens", int, None)
    if max_tokens is not None and max_tokens < 0:
        raise APIError(400, f"'max_tokens' must be at least 0, got {max_tokens}", param="max_tokens")
    temperature = float(_get(body, "temperature", (int, float), 1.0))
    if temperature < 0:
        raise APIError(400, f"'temperature' must be non-negative, got {temperature}", param="temperature")
    top_p = float(_get(body, "top_p", (int, float), 1.0))
    if not 0 < top_p <= 1:
        raise APIError(400, f"'top_p' must be in (0, 1], got {top_p}", param="top_p")
    top_k = _get(body, "top_k", int, -1)
    stop = body.get("stop")
    if stop is None:
        stop = []
    elif isinstance(stop, str):
        stop = [stop]
    elif not (isinstance(stop, list) and all(isinstance(s, str) for s in stop)):
        raise APIError(400, "'stop' must be a string or a list of strings", param="stop")
    seed = _get(body, "seed", int, None)
    if body.get("stream"):
        raise APIError(400, "streaming is not supported by this server; send stream=false", param="stream")
    ignore_eos = bool(_get(body, "ignore_eos", bool, False))
    return SamplingParams(n, max_tokens, temperature, top_p, top_k, list(stop), seed, ignore_eos)


def parse_prompts(engine: Engine, prompt: Any) -> list[tuple[str, list[int]]]:
    """Normalise ``prompt`` (str, [str], [int], [[int]]) to (text, token ids) pairs."""
    if isinstance(prompt, str):
        prompts: list = [prompt]
    elif (
        isinstance(prompt, list)
        and prompt
        and all(isinstance(t, int) and not isinstance(t, bool) for t in prompt)
    ):
        prompts = [prompt]
    elif isinstance(prompt, list) and prompt:
        prompts = prompt
    else:
        raise APIError(
            400, "'prompt' must be a non-empty string, list of strings, or list of token ids", param="prompt"
        )
    out = []
    vocab = engine.vocab_size
    for p in prompts:
        if isinstance(p, str):
            ids = engine.tokenizer(p)["input_ids"]
            text = p
        elif isinstance(p, list) and p and all(isinstance(t, int) and not isinstance(t, bool) for t in p):
            bad = [t for t in p if not 0 <= t < vocab]
            if bad:
                raise APIError(400, f"token id {bad[0]} is out of range [0, {vocab})", param="prompt")
            ids = list(p)
            text = engine.tokenizer.decode(ids, skip_special_tokens=False)
        else:
            raise APIError(
                400, "each prompt must be a non-empty string or a non-empty list of token ids", param="prompt"
            )
        if not ids:
            raise APIError(400, "the prompt is empty after tokenisation", param="prompt")
        out.append((text, ids))
    return out


def _check_model(engine: Engine, body: dict) -> None:
    name = body.get("model")
    if name is not None and name != engine.served_model_name:
        raise APIError(404, f"The model `{name}` does not exist.", param="model")


def _budget(engine: Engine, prompt_len: int, max_tokens: int | None, default: int | None) -> int:
    if max_tokens is None:
        max_tokens = default if default is not None else engine.max_model_len - prompt_len
    if prompt_len + max_tokens > engine.max_model_len:
        raise APIError(
            400,
            f"This model's maximum context length is {engine.max_model_len} tokens. However, you requested "
            f"{prompt_len + max_tokens} tokens ({prompt_len} in the messages, {max_tokens} in the completion). "
            "Please reduce the length of the messages or completion.",
            param="max_tokens",
        )
    return max_tokens


def _usage(prompt_tokens: int, completion_tokens: int) -> dict:
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }


def completions(engine: Engine, body: dict) -> dict:
    """``POST /v1/completions``: the response dict, fields as vLLM returns them."""
    _check_model(engine, body)
    sp = parse_sampling(body)
    k = _get(body, "logprobs", int, None)
    if k is not None and not 0 <= k <= MAX_LOGPROBS:
        raise APIError(400, f"'logprobs' must be between 0 and {MAX_LOGPROBS}, got {k}", param="logprobs")
    echo = bool(_get(body, "echo", bool, False))
    # vLLM >= 0.10.2: the prompt's and each choice's token ids beside the text (a reader need not
    # re-tokenise text whose pieces are ambiguous, e.g. single bytes of a UTF-8 character)
    token_ids = bool(_get(body, "return_token_ids", bool, False))
    if "prompt" not in body:
        raise APIError(400, "'prompt' is required", param="prompt")
    prompts = parse_prompts(engine, body["prompt"])
    budgets = [_budget(engine, len(ids), sp.max_tokens, DEFAULT_COMPLETION_MAX_TOKENS) for _, ids in prompts]
    choices = []
    prompt_tokens = completion_tokens = 0
    for (text, ids), budget in zip(prompts, budgets, strict=True):
        seed = sp.seed if sp.seed is not None else engine.next_seed()
        scores, seqs = engine.run(
            ids,
            n=sp.n,
            max_tokens=budget,
            temperature=sp.temperature,
            top_p=sp.top_p,
            top_k=sp.top_k,
            stop=sp.stop,
            k=k or 0,
            seed=seed,
            echo=echo and k is not None,
            ignore_eos=sp.ignore_eos,
        )
        prompt_tokens += len(ids)
        for seq in seqs:
            completion_tokens += len(seq.token_ids)
            out_text = (text + seq.text) if echo else seq.text
            lp = None
            if k is not None:
                lp = _completion_logprobs(engine, ids if echo else [], scores, seq)
            choices.append(
                {
                    "index": len(choices),
                    "text": out_text,
                    "logprobs": lp,
                    "finish_reason": seq.finish_reason,
                    "stop_reason": None,
                    "prompt_logprobs": None,
                    **(
                        {"prompt_token_ids": list(ids), "token_ids": list(seq.token_ids)} if token_ids else {}
                    ),
                }
            )
    return {
        "id": f"cmpl-{uuid.uuid4().hex}",
        "object": "text_completion",
        "created": int(time.time()),
        "model": engine.served_model_name,
        "choices": choices,
        "usage": _usage(prompt_tokens, completion_tokens),
    }


def _completion_logprobs(
    engine: Engine, prompt_ids: list[int], scores: PromptScores | None, seq: Sequence
) -> dict:
    ids = list(prompt_ids) + seq.token_ids
    token_logprobs: list[float | None] = (scores.token_logprobs if prompt_ids else []) + seq.token_logprobs
    tops = (scores.top if prompt_ids else []) + seq.top
    tokens = [engine.token_text(t) for t in ids]
    offsets, pos = [], 0
    for t in tokens:
        offsets.append(pos)
        pos += len(t)
    top_logprobs = [None if top is None else {engine.token_text(i): v for i, v in top} for top in tops]
    return {
        "tokens": tokens,
        "token_logprobs": token_logprobs,
        "top_logprobs": top_logprobs,
        "text_offset": offsets,
    }


def chat_completions(engine: Engine, body: dict) -> dict:
    """``POST /v1/chat/completions``: applies the tokenizer's chat template, fields as vLLM returns them."""
    _check_model(engine, body)
    sp = parse_sampling(body)
    messages = body.get("messages")
    if not (isinstance(messages, list) and messages and all(isinstance(m, dict) for m in messages)):
        raise APIError(400, "'messages' must be a non-empty list of message objects", param="messages")
    for i, m in enumerate(messages):
        if not isinstance(m.get("role"), str) or not isinstance(m.get("content"), str):
            raise APIError(
                400, f"messages[{i}] needs a string 'role' and a string 'content'", param="messages"
            )
    want_lp = bool(_get(body, "logprobs", bool, False))
    k = _get(body, "top_logprobs", int, 0)
    if not 0 <= k <= MAX_LOGPROBS:
        raise APIError(
            400, f"'top_logprobs' must be between 0 and {MAX_LOGPROBS}, got {k}", param="top_logprobs"
        )
    if k and not want_lp:
        raise APIError(400, "'top_logprobs' requires 'logprobs' to be true", param="top_logprobs")
    if not engine.tokenizer.chat_template:
        raise APIError(400, f"model {engine.served_model_name} has no chat template; use /v1/completions")
    msgs = [{"role": m["role"], "content": m["content"]} for m in messages]
    try:
        prompt = engine.tokenizer.apply_chat_template(msgs, add_generation_prompt=True, tokenize=False)
    except Exception as e:  # jinja raises many types for bad conversations (e.g. role order)
        raise APIError(400, f"chat template rejected the messages: {e}", param="messages") from e
    # The template already contains any BOS/special tokens: do not add them twice (as vLLM does).
    ids = engine.tokenizer(prompt, add_special_tokens=False)["input_ids"]
    budget = _budget(engine, len(ids), sp.max_tokens, None)
    seed = sp.seed if sp.seed is not None else engine.next_seed()
    _, seqs = engine.run(
        ids,
        n=sp.n,
        max_tokens=budget,
        temperature=sp.temperature,
        top_p=sp.top_p,
        top_k=sp.top_k,
        stop=sp.stop,
        k=k,
        seed=seed,
        echo=False,
        ignore_eos=sp.ignore_eos,
    )
    choices = []
    for i, seq in enumerate(seqs):
        lp = None
        if want_lp:
            lp = {
                "content": [
                    _chat_entry(engine, t, v, top, k)
                    for t, v, top in zip(seq.token_ids, seq.token_logprobs, seq.top, strict=True)
                ]
            }
        choices.append(
            {
                "index": i,
                "message": {"role": "assistant", "content": seq.text, "tool_calls": []},
                "logprobs": lp,
                "finish_reason": seq.finish_reason,
                "stop_reason": None,
            }
        )
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": engine.served_model_name,
        "choices": choices,
        "usage": _usage(len(ids), sum(len(s.token_ids) for s in seqs)),
    }


def _chat_entry(engine: Engine, token_id: int, logprob: float, top: list[tuple[int, float]], k: int) -> dict:
    def one(t: int, v: float) -> dict:
        s = engine.token_text(t)
        return {"token": s, "logprob": v, "bytes": list(s.encode("utf-8"))}

    # Chat top_logprobs is exactly the k best (OpenAI); _top may have appended the chosen token.
    return {**one(token_id, logprob), "top_logprobs": [one(t, v) for t, v in top[:k]]}


def models_list(engine: Engine) -> dict:
    return {
        "object": "list",
        "data": [
            {
                "id": engine.served_model_name,
                "object": "model",
                "created": int(time.time()),
                "owned_by": "harness",
                "root": engine.model_path,
                "parent": None,
                "max_model_len": engine.max_model_len,
            }
        ],
    }


# --------------------------------------------------------------------------- loading ----


def load_engine(
    model: str,
    *,
    served_model_name: str | None = None,
    dtype: str = "float32",
    seed: int = 0,
    max_model_len: int | None = None,
) -> Engine:
    """Load a transformers causal LM directory (``"smollm2"`` resolves to the cached SmolLM2 copy)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from harness.models.smollm2 import resolve_model_path

    if dtype not in ("float32", "bfloat16", "float16"):
        raise ValueError(f"dtype must be float32, bfloat16 or float16, got {dtype!r}")
    path = resolve_model_path(model)
    torch.manual_seed(seed)
    tokenizer = AutoTokenizer.from_pretrained(path)
    lm = AutoModelForCausalLM.from_pretrained(path, dtype=getattr(torch, dtype))
    lm.eval()
    eos: set[int] = set()
    for source in (tokenizer.eos_token_id, getattr(lm.generation_config, "eos_token_id", None)):
        if isinstance(source, int):
            eos.add(source)
        elif isinstance(source, list):
            eos.update(source)
    limit = getattr(lm.config, "max_position_embeddings", None) or 2048
    return Engine(
        model=lm,
        tokenizer=tokenizer,
        served_model_name=served_model_name or model,
        model_path=str(Path(path).resolve()) if Path(path).exists() else path,
        max_model_len=min(max_model_len or limit, limit),
        eos_token_ids=frozenset(eos),
        seed=seed,
    )


# ------------------------------------------------------------------------------ HTTP ----

MAX_BODY = 64 << 20


def make_handler(engine: Engine, api_key: str | None = None) -> type[BaseHTTPRequestHandler]:
    """Request handler bound to one engine. Model calls are serialised by ``engine.lock``."""

    routes_post = {"/v1/completions": completions, "/v1/chat/completions": chat_completions}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "harness-openai-server"

        def log_message(self, format: str, *args: Any) -> None:
            log.info("%s %s", self.address_string(), format % args)

        def _send(self, status: int, payload: dict | None) -> None:
            data = b"" if payload is None else json.dumps(payload).encode()
            self.send_response(status)
            if payload is not None:
                self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _auth(self) -> None:
            if api_key is not None and self.headers.get("Authorization") != f"Bearer {api_key}":
                raise APIError(401, "Unauthorized: a valid 'Authorization: Bearer <key>' header is required")

        def _handle(self, method: str) -> None:
            path = self.path.split("?", 1)[0].rstrip("/") or "/"
            try:
                if method == "GET" and path == "/health":
                    self._send(200, None)
                    return
                self._auth()
                if method == "GET" and path == "/v1/models":
                    self._send(200, models_list(engine))
                    return
                if path in routes_post:
                    if method != "POST":
                        raise APIError(405, f"{method} is not allowed on {path}; use POST")
                    self._send(200, routes_post[path](engine, self._json_body()))
                    return
                raise APIError(404, f"no route {method} {path}")
            except APIError as e:
                self._send(e.status, e.body())
            except Exception as e:  # a bug or a model failure: report it, keep serving
                log.exception("internal error on %s %s", method, path)
                self._send(500, APIError(500, f"internal error: {type(e).__name__}: {e}").body())

        def _json_body(self) -> dict:
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                raise APIError(413, f"request body of {length} bytes exceeds {MAX_BODY}")
            raw = self.rfile.read(length)
            try:
                body = json.loads(raw or b"null")
            except json.JSONDecodeError as e:
                raise APIError(400, f"request body is not valid JSON: {e}") from e
            if not isinstance(body, dict):
                raise APIError(400, "request body must be a JSON object")
            return body

        def do_GET(self) -> None:
            self._handle("GET")

        def do_POST(self) -> None:
            self._handle("POST")

    return Handler


def make_server(engine: Engine, host: str, port: int, api_key: str | None = None) -> ThreadingHTTPServer:
    # stdlib ThreadingHTTPServer rather than FastAPI/uvicorn: no extra dependency, and since the model is
    # serialised by a lock anyway an async framework would buy no throughput here; threads only keep
    # /health and /v1/models answering while a long generation runs.
    server = ThreadingHTTPServer((host, port), make_handler(engine, api_key))
    server.daemon_threads = True
    return server


def serve(
    model: str = typer.Option(..., "--model", help="transformers model directory, or 'smollm2'"),
    port: int = typer.Option(8000, "--port"),
    host: str = typer.Option("127.0.0.1", "--host", help="bind address (loopback by default)"),
    served_model_name: str | None = typer.Option(
        None, "--served-model-name", help="name clients send as 'model'"
    ),
    dtype: str = typer.Option("float32", "--dtype", help="float32, bfloat16 or float16"),
    seed: int = typer.Option(0, "--seed", help="seeds sampling for requests that carry no seed"),
    max_model_len: int | None = typer.Option(
        None, "--max-model-len", help="context limit (default: model's)"
    ),
    api_key_env: str | None = typer.Option(
        None,
        "--api-key-env",
        help="require 'Authorization: Bearer $VAR' (the key is read from this variable)",
    ),
) -> None:
    """Serve a local causal LM over an OpenAI-compatible API (/v1/completions, /v1/chat/completions)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    api_key = None
    if api_key_env:
        api_key = os.environ.get(api_key_env)
        if not api_key:
            raise typer.BadParameter(
                f"environment variable {api_key_env} is not set", param_hint="--api-key-env"
            )
    engine = load_engine(
        model, served_model_name=served_model_name, dtype=dtype, seed=seed, max_model_len=max_model_len
    )
    server = make_server(engine, host, port, api_key)
    log.info("serving %s as %r on http://%s:%d/v1", engine.model_path, engine.served_model_name, host, port)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    typer.run(serve)
