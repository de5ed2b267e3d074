"""``run_fingerprint``: probe an endpoint in order of cost-effectiveness, stop once decisive, write the record.

Order: discovery (which routes and fields the endpoint offers), tokenizer probes (cheap and decisive for
a different model family), the log-probability probe in looks, proxy tells, and sampled outputs only
when nothing above decided. Every request counts against ``budget``; a mismatch stops the run at once,
a match needs the log-probability probe's full sample. The record (``fingerprint.json``) is the only
source of the Markdown report and of the audit's fingerprint section.
"""

from __future__ import annotations

import math
import platform
import time
from collections.abc import Callable
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import httpx

from harness.fingerprint import calibration as calibration_mod
from harness.fingerprint.client import (
    BudgetExhausted,
    Client,
    EndpointError,
    EndpointUnsupported,
    MalformedResponse,
)
from harness.fingerprint.defaults import DEFAULT_ALPHA, DEFAULT_BUDGET
from harness.fingerprint.evidence import Evidence, rnd_tree
from harness.fingerprint.probes import logprobs as lp_probe
from harness.fingerprint.probes import proxy_tells, sampling, token_count, truncation
from harness.fingerprint.prompts import IDENTITY_QUESTIONS, NATURAL_TEXTS, PROBE_SET_VERSION
from harness.fingerprint.reference import Reference
from harness.fingerprint.report import json_safe, write_outputs
from harness.fingerprint.responses import parse_chat, parse_completion
from harness.fingerprint.verdict import CONFIDENCE_MEANING, decide

SCHEMA_VERSION = 1
TOP_K = 20
FALLBACK_TOP_K = 5
LOOKS = 2
STATUS = {"match": "clean", "mismatch": "flagged", "inconclusive": "flagged"}


class _Run:
    """Mutable state of one run: the client, what the endpoint can do, evidence so far."""

    def __init__(
        self, client: Client, ref: Reference, *, alpha: float, seed: int, report: Callable[[str], None]
    ):
        self.client = client
        self.ref = ref
        self.alpha = alpha
        self.seed = seed
        self.report = report
        self.evidence: list[Evidence] = []
        self.skipped: list[dict[str, str]] = []
        self.capabilities: dict[str, Any] = {}
        self.probe_seconds: dict[str, float] = {}
        self.timing_extra: dict[str, Any] = {}
        self.open_reason = ""

    def budget_left(self) -> int:
        return self.client.remaining

    def decided_mismatch(self) -> bool:
        return any(
            e.supports == "mismatch" and e.decisive and (e.p_value or 0) < self.alpha for e in self.evidence
        )

    def cost(self, probe: str) -> tuple[int, int]:
        entry = self.client.ledger.by_probe.get(probe, {"requests": 0, "tokens": 0})
        return entry["requests"], entry["tokens"]

    def skip(self, probe: str, reason: str) -> None:
        self.skipped.append({"probe": probe, "reason": reason})


def _versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {"python": platform.python_version()}
    for name in ("harness", "transformers", "torch", "tokenizers", "numpy", "scipy", "httpx"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


# -------------------------------------------------------------------------------- stages ----


def _discover(run: _Run, chat: bool | None) -> dict[str, Any] | None:
    """Which routes work; returns the first echo response (reused as the first logprob text)."""
    c = run.client
    caps = run.capabilities
    c.probe = "discovery"
    try:
        models = c.get("/models")
        ids = [m.get("id") for m in models.get("data", []) if isinstance(m, dict)]
        caps["models_listed"] = [str(i) for i in ids if i is not None][:20]
        caps["claimed_model_listed"] = c.model in caps["models_listed"]
    except EndpointUnsupported:
        caps["models_listed"] = None
    first_echo = None
    caps["completions"] = caps["echo_logprobs"] = caps["completion_logprobs"] = False
    if chat is not True:
        c.probe = "logprob_probe"
        for k in (TOP_K, FALLBACK_TOP_K):
            try:
                first_echo = lp_probe.request_echo(c, NATURAL_TEXTS[0], k)
                parsed = parse_completion(first_echo)
                caps["completions"] = True
                has_lp = parsed.choices[0].logprobs is not None and bool(parsed.choices[0].logprobs.tokens)
                caps["echo_logprobs"] = has_lp
                caps["top_k"] = k
                break
            except EndpointUnsupported as e:
                caps["echo_error"] = str(e)[:300]
        if not caps["completions"]:
            c.probe = "discovery"
            try:
                parse_completion(
                    c.post("/completions", {"prompt": "Hello", "max_tokens": 1, "temperature": 0})
                )
                caps["completions"] = True
            except EndpointUnsupported as e:
                caps["completions_error"] = str(e)[:300]
        if caps["completions"] and not caps["echo_logprobs"]:
            c.probe = "discovery"
            try:
                r = parse_completion(
                    c.post(
                        "/completions",
                        {"prompt": "Hello", "max_tokens": 2, "temperature": 0, "logprobs": FALLBACK_TOP_K},
                    )
                )
                caps["completion_logprobs"] = r.choices[0].logprobs is not None and bool(
                    r.choices[0].logprobs.top
                )
                caps.setdefault("top_k", FALLBACK_TOP_K)
            except EndpointUnsupported:
                pass
    if chat is False and not caps["completions"]:
        raise EndpointError(
            f"{c.base_url}/completions is not available ({caps.get('completions_error', 'refused')}); "
            "drop --no-chat to fingerprint through /chat/completions"
        )
    caps["chat"] = caps["chat_logprobs"] = False
    c.probe = "discovery"
    hello = {"messages": [{"role": "user", "content": "Hello"}], "max_tokens": 2, "temperature": 0}
    tolerated = (EndpointUnsupported, MalformedResponse) if caps["completions"] else (EndpointUnsupported,)
    for body in (hello | {"logprobs": True, "top_logprobs": FALLBACK_TOP_K}, hello):
        try:
            r = parse_chat(c.post("/chat/completions", body))
        except tolerated as e:  # a chat route that refuses or answers malformed: use completions
            caps["chat_error"] = str(e)[:300]
            continue
        caps["chat"] = True
        lp = r.choices[0].logprobs
        caps["chat_logprobs"] = lp is not None and any(t for t in lp.top)
        caps.pop("chat_error", None)
        break
    if not caps["completions"] and not caps["chat"]:
        raise EndpointError(
            f"{c.base_url}: neither /completions nor /chat/completions accepted a request "
            f"({caps.get('completions_error') or caps.get('echo_error')}; {caps.get('chat_error')})"
        )
    caps["mode"] = "chat" if (chat is True or not caps["completions"]) else "completions"
    if caps["mode"] == "chat" and not caps["chat"]:
        raise EndpointError(f"{c.base_url}/chat/completions is not available ({caps.get('chat_error')})")
    return first_echo


def _timed(run: _Run, name: str, fn: Callable[[], None]) -> None:
    started = time.monotonic()
    run.client.probe = name
    try:
        fn()
    except BudgetExhausted:
        run.skip(name, "stopped when the request budget ran out")
        run.open_reason = run.open_reason or f"the budget of {run.client.budget} requests ran out"
    finally:
        run.probe_seconds[name] = round(time.monotonic() - started, 3)


def _tokenizer_probes(run: _Run) -> None:
    chat = run.capabilities["mode"] == "chat"

    def counts() -> None:
        result = token_count.run(run.client, run.ref, chat=chat)
        req, tok = run.cost("token_count_probe")
        run.evidence += token_count.analyse(result, alpha=run.alpha, requests=req, tokens=tok)

    def cuts() -> None:
        result = truncation.run(run.client, chat=chat)
        req, tok = run.cost("truncation_probe")
        run.evidence.append(truncation.analyse(result, run.ref, alpha=run.alpha, requests=req, tokens=tok))

    _timed(run, "token_count_probe", counts)
    if not run.decided_mismatch():
        _timed(run, "truncation_probe", cuts)


def _logprob_probe(run: _Run, first_echo: dict[str, Any] | None) -> lp_probe.LogprobSession | None:
    caps = run.capabilities
    chat = caps["mode"] == "chat"
    if not run.ref.has_weights:
        run.skip("logprob_probe", "the reference has no weights (tokenizer only)")
        return None
    if caps["mode"] == "completions" and caps.get("echo_logprobs"):
        mode, use_chat = "echo", False
    elif caps["mode"] == "completions" and caps.get("completion_logprobs"):
        mode, use_chat = "generated", False
    elif caps.get("chat_logprobs") and (chat or not caps["completions"]):
        mode, use_chat = "generated", True
    else:
        run.skip("logprob_probe", "the endpoint returns no logprobs")
        return None
    texts = NATURAL_TEXTS if mode == "echo" else NATURAL_TEXTS[:16]
    session = lp_probe.LogprobSession(
        run.ref,
        texts,
        k=caps.get("top_k", FALLBACK_TOP_K),
        mode=mode,
        chat=use_chat,
        alpha=run.alpha,
        looks=LOOKS,
    )
    per_look = math.ceil(len(texts) / LOOKS)

    def go() -> None:
        i = 0
        for look in range(LOOKS):
            end = min(len(texts), (look + 1) * per_look)
            while i < end:
                first = first_echo if (i == 0 and mode == "echo") else None
                if first is None and run.budget_left() <= 0:
                    raise BudgetExhausted("budget")
                session.request(run.client, i, first)
                i += 1
            final = end == len(texts) or run.budget_left() < per_look
            a = session.analyse(
                final=final,
                calibrate_fn=calibration_mod.calibrate,
                grad_fn=calibration_mod.loglik_gradient_sq_norm,
            )
            run.report(f"logprobs: look {look + 1}/{LOOKS}, {len(session.aligned)} texts")
            if a is not None and (a.decisive or final):
                break

    try:
        _timed(run, "logprob_probe", go)
    finally:
        # Stopped by the budget before a final look: analyse what was collected as the last look.
        decided = session.analysis is not None and (session.analysis.decisive or session.analysed_final)
        if len(session.aligned) >= 3 and not decided:
            session.analyse(
                final=True,
                calibrate_fn=calibration_mod.calibrate,
                grad_fn=calibration_mod.loglik_gradient_sq_norm,
            )
        req, tok = run.cost("logprob_probe")
        ev = session.evidence(req, tok)
        if ev is not None:
            ev.details["shift_agreement"] = session.shift_agreement
            run.evidence.append(ev)
        elif session.unaligned:
            run.skip(
                "logprob_probe",
                f"{len(session.unaligned)} texts could not be aligned to the reference tokenizer",
            )
        if session.echo_pairs:
            echo = proxy_tells.echo_evidence(session.echo_pairs)
            if echo is not None:
                run.evidence.append(echo)
    return session


def _proxy_tells(run: _Run) -> None:
    caps = run.capabilities
    chat = caps["mode"] == "chat"

    def copies() -> None:
        records = proxy_tells.run_copies(run.client, run.ref, chat=chat, budget_left=run.budget_left)
        req, tok = run.cost("deletion_probe")
        run.evidence.append(proxy_tells.deletion_evidence(records, alpha=run.alpha, requests=req, tokens=tok))

    def identity() -> None:
        use_chat = bool(caps.get("chat"))
        answers, refs = [], []
        for q in IDENTITY_QUESTIONS:
            if run.budget_left() <= 0:
                break
            answers.append(proxy_tells.request_identity(run.client, q, use_chat))
            refs.append(proxy_tells.reference_identity(run.ref, q, use_chat))
        req, tok = run.cost("identity_probe")
        run.evidence.append(proxy_tells.identity_evidence(answers, refs, requests=req, tokens=tok))

    def cache() -> None:
        rec = proxy_tells.CacheRecord()
        for _ in range(2):
            started = time.monotonic()
            rec.samples.append(proxy_tells.request_cache_sample(run.client, chat))
            rec.seconds.append(round(time.monotonic() - started, 4))
        run.timing_extra["cache_probe_latency_seconds"] = rec.seconds
        req, tok = run.cost("cache_tell")
        run.evidence.append(proxy_tells.cache_evidence(rec, run.ref, requests=req, tokens=tok))

    def echo_check() -> None:
        pairs = [
            proxy_tells.request_echo_only(run.client, t) for t in proxy_tells.vendor_texts(NATURAL_TEXTS)
        ]
        ev = proxy_tells.echo_evidence(pairs)
        if ev is not None:
            ev.requests, ev.tokens = run.cost("echo_rewrite_tell")
            run.evidence.append(ev)

    # Echo without logprobs: the log-probability probe did not send these texts, relays often keep echo.
    if caps["mode"] == "completions" and not caps.get("echo_logprobs"):
        _timed(run, "echo_rewrite_tell", echo_check)
        if run.decided_mismatch():
            return
    echo = next((e for e in run.evidence if e.name == "echo_rewrite_tell"), None)
    if echo is not None and echo.details.get("compared", 0) > 0:
        # An exact echo of texts naming vendors already shows nothing rewrites output text.
        run.skip("deletion_probe", "the echo check compared the vendor-naming texts directly")
    else:
        _timed(run, "deletion_probe", copies)
        if run.decided_mismatch():
            return
    _timed(run, "identity_probe", identity)
    _timed(run, "cache_tell", cache)


def _sampling(run: _Run) -> None:
    if not run.ref.has_weights:
        run.skip("two_sample_test", "the reference has no weights to sample from")
        return
    chat = run.capabilities["mode"] == "chat"

    def greedy() -> None:
        rec = sampling.run_greedy(run.client, run.ref, chat=chat, budget_left=run.budget_left)
        req, tok = run.cost("greedy_agreement")
        run.evidence.append(sampling.greedy_evidence(rec, run.ref, requests=req, tokens=tok))

    def mmd() -> None:
        rec = sampling.run_samples(run.client, run.ref, chat=chat, seed=run.seed, budget_left=run.budget_left)
        req, tok = run.cost("two_sample_test")
        run.evidence.append(
            sampling.mmd_evidence(rec, run.ref, alpha=run.alpha, seed=run.seed, requests=req, tokens=tok)
        )

    _timed(run, "greedy_agreement", greedy)
    _timed(run, "two_sample_test", mmd)


# ----------------------------------------------------------------------------- the run ----


def run_fingerprint(
    *,
    out_dir: Path,
    endpoint: str,
    model: str,
    reference: Path | str,
    budget: int = DEFAULT_BUDGET,
    seed: int = 0,
    api_key_env: str | None = None,
    chat: bool | None = None,
    progress: bool = True,
    alpha: float = DEFAULT_ALPHA,
    transport: httpx.BaseTransport | None = None,
) -> dict[str, Any]:
    """Fingerprint ``endpoint`` (an OpenAI-compatible ``.../v1`` root) serving ``model`` against ``reference``.

    Writes ``fingerprint.json`` and ``fingerprint.md`` into ``out_dir`` and returns the record. Raises
    ``ValueError`` (incl. ``ReferenceError``) for unusable arguments; an endpoint that cannot be used
    (unreachable, HTML, errors, malformed JSON) gives a record with status ``error`` instead.
    """
    if budget < 1:
        raise ValueError(f"--budget must be at least 1, got {budget}")
    if not 0 < alpha < 0.5:
        raise ValueError(f"alpha must be in (0, 0.5), got {alpha}")
    started_at = datetime.now(UTC)
    t0 = time.monotonic()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    ref = Reference.load(reference)
    client = Client(endpoint, model, api_key_env=api_key_env, budget=budget, transport=transport)
    bar = _Progress(progress, budget)
    client.on_request = bar.update
    run = _Run(client, ref, alpha=alpha, seed=seed, report=bar.note)
    error: str | None = None
    try:
        with bar:
            bar.note("discovery")
            first_echo = _discover(run, chat)
            for name, stage in (
                ("tokenizer", lambda: _tokenizer_probes(run)),
                ("logprobs", lambda: _logprob_probe(run, first_echo)),
                ("proxy tells", lambda: _proxy_tells(run)),
            ):
                if run.decided_mismatch():
                    run.skip(name, "a decisive mismatch was already found")
                    continue
                bar.note(name)
                stage()
                bar.update(client.ledger.requests)
            lp = next((e for e in run.evidence if e.name == "logprob_probe"), None)
            if not run.decided_mismatch() and (lp is None or not lp.decisive):
                bar.note("sampling")
                _sampling(run)
            bar.update(client.ledger.requests)
    except EndpointError as e:
        error = str(e)
    except BudgetExhausted:
        run.open_reason = run.open_reason or f"the budget of {budget} requests ran out during discovery"
    finally:
        client.close()
    record = _record(run, model=model, budget=budget, seed=seed, chat=chat, error=error)
    record["timing"] = {
        "started_at": started_at.isoformat(timespec="seconds"),
        "seconds": round(time.monotonic() - t0, 3),
        "endpoint_seconds": round(client.ledger.seconds, 3),
        "probe_seconds": run.probe_seconds,
        **run.timing_extra,
    }
    record = json_safe(record)
    write_outputs(record, out_dir)
    return record


def _record(
    run: _Run, *, model: str, budget: int, seed: int, chat: bool | None, error: str | None
) -> dict[str, Any]:
    ledger = run.client.ledger
    base: dict[str, Any] = {
        "schema": "harness.fingerprint",
        "schema_version": SCHEMA_VERSION,
        "endpoint": run.client.base_url,
        "model": model,
        "reference": run.ref.provenance(),
        "settings": {
            "budget": budget,
            "seed": seed,
            "chat": chat,
            "alpha": run.alpha,
            "looks": LOOKS,
            "probe_set_version": PROBE_SET_VERSION,
            "calibration_version": calibration_mod.CALIBRATION_VERSION,
        },
        "capabilities": run.capabilities,
        "evidence": [e.to_dict() for e in run.evidence],
        "skipped": run.skipped,
        "cost": {
            "requests": ledger.requests,
            "prompt_tokens": ledger.prompt_tokens,
            "completion_tokens": ledger.completion_tokens,
            "retries": ledger.retries,
            "responses_without_usage": ledger.responses_without_usage,
            "by_probe": ledger.by_probe,
        },
        "versions": _versions(),
    }
    if error is not None:
        return {
            "status": "error",
            "headline": f"The endpoint could not be fingerprinted: {error.splitlines()[0][:300]}",
            "verdict": None,
            "confidence": None,
            "weights_relation": "unknown",
            "error": error,
            **base,
        }
    v = decide(run.evidence, alpha=run.alpha, reason_if_open=_open_reason(run))
    lp = next((e for e in run.evidence if e.name == "logprob_probe"), None)
    detectable = {}
    if lp is not None:
        d = lp.details
        detectable = {
            "kl_nats_per_token": d.get("smallest_detectable_kl"),
            "coherent_drift_nats_per_token": d.get("smallest_detectable_drift_nats_per_token"),
            "precision_band_kl": d.get("precision_band_kl"),
            "quantisation_band_kl": d.get("quantisation_band_kl"),
            "equivalent_weight_noise_of_band": _noise_of(d, d.get("quantisation_band_kl")),
        }
    return {
        "status": STATUS[v.verdict],
        "headline": v.headline,
        "verdict": v.verdict,
        "confidence": rnd_tree(v.confidence),
        "confidence_meaning": CONFIDENCE_MEANING[v.verdict],
        "weights_relation": v.weights_relation,
        "adjusted_p_values": rnd_tree(v.adjusted_p),
        "smallest_detectable": rnd_tree(detectable),
        **base,
    }


def _noise_of(details: dict[str, Any], kl: float | None) -> float | None:
    cal = details.get("calibration_kl") or {}
    ref_kl = cal.get("noise-1%")
    if not kl or not ref_kl:
        return None
    return 0.01 * math.sqrt(kl / ref_kl)


def _open_reason(run: _Run) -> str:
    if run.open_reason:
        return run.open_reason
    if not run.ref.has_weights:
        return "the reference has only a tokenizer, so no test could compare weights"
    lp = next((e for e in run.evidence if e.name == "logprob_probe"), None)
    if lp is None:
        return "the endpoint gives no logprobs and the sampled-output test found no difference (it cannot prove equality)"
    return "the log-probability divergence is neither clearly inside nor clearly beyond the calibrated band"


class _Progress:
    """A rich progress bar over the request budget (a no-op when progress is off)."""

    def __init__(self, enabled: bool, budget: int):
        self.enabled = enabled
        self.budget = budget
        self._progress = None
        self._task = None

    def __enter__(self) -> _Progress:
        if self.enabled:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self._progress = Progress(
                TextColumn("[bold]fingerprint[/bold] {task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("requests"),
                TimeElapsedColumn(),
                console=Console(stderr=True),
                transient=False,
            )
            self._progress.__enter__()
            self._task = self._progress.add_task("starting", total=self.budget)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.__exit__(*exc)

    def note(self, text: str) -> None:
        if self._progress is not None:
            self._progress.update(self._task, description=text)

    def update(self, requests: int) -> None:
        if self._progress is not None:
            self._progress.update(self._task, completed=min(requests, self.budget))
