"""``run_fingerprint``: discover the API, fix the family, send probes, stop when a test crosses, record.

Order of a run (docs/fingerprint.md): discovery (which routes and fields the endpoint offers), the
family and its weights (``family.plan_family``, before any probe), then one schedule of single requests
interleaving the tests so that any kind of substitute is met early: token counts, greedy prompts, echoed
texts, copy lists, the rest of each, output cuts, and last the informational identity question. After
every request the touched test's e-process is updated and the run stops as soon as any test crosses its
threshold (valid at any stopping time). Each test is a ``Probe`` (``probes.base``: ``plan`` its
requests, ``analyse`` its rows; the probes themselves are in ``probes.registry``), and this module is
the one loop that runs them. Every request counts against ``budget``; a test that could not
finish its planned sample leaves the verdict ``inconclusive`` unless another test rejected.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from harness.fingerprint import pool
from harness.fingerprint.client import (
    BudgetExhausted,
    Client,
    EndpointError,
    EndpointUnsupported,
    MalformedResponse,
)
from harness.fingerprint.defaults import DEFAULT_ALPHA, DEFAULT_BUDGET, DEFAULT_MATCH_TIER, DEFAULT_TOLERANCE
from harness.fingerprint.evidence import Evidence, rnd_tree
from harness.fingerprint.family import ApiCapabilities, plan_family
from harness.fingerprint.probes import common
from harness.fingerprint.probes import registry as _registry  # noqa: F401  (registers the probes)
from harness.fingerprint.probes.base import (  # plan sizes re-exported: signature.py reads two
    COPY_MAX_TOKENS,
    CUT_TEXTS,
    GREEDY_EXTRA,
    IDENTITY_QUESTION,
    N_COPY,
    N_COUNT,
    N_ECHO,
    N_GREEDY,
    PROBES,
    TOP_K,
    Probe,
    RunState,
    Step,
)
from harness.fingerprint.reference import TIERS, BaseReference, load_reference
from harness.fingerprint.report import write_outputs
from harness.fingerprint.responses import parse_chat, parse_completion
from harness.fingerprint.verdict import CONFIDENCE_MEANING, decide, numerics_relation
from harness.records.files import json_safe, package_version, package_versions
from harness.records.status import status_class

SCHEMA_VERSION = 2
__all__ = [  # the plan sizes stay importable from here
    "COPY_MAX_TOKENS", "CUT_TEXTS", "GREEDY_EXTRA", "IDENTITY_QUESTION", "N_COPY", "N_COUNT", "N_ECHO",
    "N_GREEDY", "TOP_K", "api_capabilities", "discover", "run_fingerprint",
]  # fmt: skip


def _versions() -> dict[str, str | None]:
    """The shared version list (``records.files``) plus the two packages only the fingerprint uses."""
    return {
        **package_versions(),
        "tokenizers": package_version("tokenizers"),
        "httpx": package_version("httpx"),
    }


# ----------------------------------------------------------------------------- discovery ----


def discover(c: Client, chat: bool | None) -> dict[str, Any]:
    """Which routes and fields the endpoint offers (a handful of tiny requests)."""
    caps: dict[str, Any] = {}
    c.probe = "discovery"
    try:
        models = c.get("/models")
        ids = [m.get("id") for m in models.get("data", []) if isinstance(m, dict)]
        caps["models_listed"] = [str(i) for i in ids if i is not None][:20]
        caps["claimed_model_listed"] = c.model in caps["models_listed"]
    except (EndpointUnsupported, MalformedResponse):
        caps["models_listed"] = None
    caps.update(completions=False, echo=False, echo_logprobs=False, completion_logprobs=False, usage=False)
    if chat is not True:
        probe_text = "The quick brown fox jumps over the lazy dog."
        try:
            ch = common.echo(c, probe_text, logprobs=TOP_K)
            caps["completions"] = True
            caps["echo"] = probe_text.split()[0] in ch.text and ch.text.startswith(probe_text[:8])
            caps["echo_logprobs"] = caps["echo"] and ch.logprobs is not None and len(ch.logprobs.tokens) > 2
        except EndpointUnsupported as e:
            caps["echo_error"] = str(e)[:300]
        if not caps["echo"]:
            try:
                ch = common.echo(c, probe_text, logprobs=None)
                caps["completions"] = True
                caps["echo"] = ch.text.startswith(probe_text[:8])
            except EndpointUnsupported as e:
                caps["echo_error"] = str(e)[:300]
        try:
            r = parse_completion(
                c.post(
                    "/completions", {"prompt": "Hello", "max_tokens": 2, "temperature": 0, "logprobs": TOP_K}
                )
            )
            caps["completions"] = True
            caps["usage"] = r.prompt_tokens is not None
            caps["completion_logprobs"] = r.choices[0].logprobs is not None and bool(
                r.choices[0].logprobs.tokens
            )
        except EndpointUnsupported as e:
            caps["completions_error"] = str(e)[:300]
    if chat is False and not caps["completions"]:
        raise EndpointError(
            f"{c.base_url}/completions is not available ({caps.get('completions_error', 'refused')}); "
            "drop --no-chat to fingerprint through /chat/completions"
        )
    caps["chat"] = caps["chat_logprobs"] = False
    hello = {"messages": [{"role": "user", "content": "Hello"}], "max_tokens": 2, "temperature": 0}
    tolerated = (EndpointUnsupported, MalformedResponse) if caps["completions"] else (EndpointUnsupported,)
    for body in (hello | {"logprobs": True, "top_logprobs": TOP_K}, hello):
        try:
            r = parse_chat(c.post("/chat/completions", body))
        except tolerated as e:
            caps["chat_error"] = str(e)[:300]
            continue
        caps["chat"] = True
        caps["chat_usage"] = r.prompt_tokens is not None
        lp = r.choices[0].logprobs
        caps["chat_logprobs"] = lp is not None and bool(lp.tokens)
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
    # Greedy means no repetition penalty: llama-cpp-python applies repeat_penalty 1.1 unless told not to.
    try:
        common.complete(c, "Hello", chat=caps["mode"] == "chat", max_tokens=1, temperature=0, **GREEDY_EXTRA)
        c.greedy_extra = dict(GREEDY_EXTRA)
    except (EndpointUnsupported, MalformedResponse) as e:
        caps["greedy_extra_refused"] = str(e)[:200]
    caps["greedy_extra"] = c.greedy_extra
    return caps


def api_capabilities(caps: dict[str, Any]) -> ApiCapabilities:
    chat = caps["mode"] == "chat"
    return ApiCapabilities(
        mode=caps["mode"],
        usage=bool(caps.get("chat_usage") if chat else caps.get("usage")),
        echo=bool(caps.get("echo")),
        echo_logprobs=bool(caps.get("echo_logprobs")),
        generated_logprobs=bool(caps.get("chat_logprobs") if chat else caps.get("completion_logprobs")),
    )


class _Run:
    def __init__(
        self,
        client: Client,
        ref,
        *,
        alpha: float,
        seed: int,
        tolerance: str,
        match_tier: str,
        report: Callable[[str], None],
    ):
        self.match_tier = match_tier
        self.client = client
        self.ref = ref
        self.alpha = alpha
        self.seed = seed
        self.tolerance = tolerance
        self.report = report
        self.caps: dict[str, Any] = {}
        self.weights: dict[str, float] = {}
        self.cal = None
        self.s = RunState()
        self.probes: list[Probe] = [cls() for cls in PROBES]
        self.skipped: list[dict[str, str]] = []
        self.probe_seconds: dict[str, float] = {}
        self.open_reason = ""

    @property
    def chat(self) -> bool:
        return self.caps["mode"] == "chat"

    def cost(self, probe: str) -> tuple[int, int]:
        entry = self.client.ledger.by_probe.get(probe, {"requests": 0, "tokens": 0})
        return entry["requests"], entry["tokens"]

    # ------------------------------------------------------------------ rows per test ----

    def evidence(self) -> list[Evidence]:
        """Every probe's rows from the observations so far, in the evidence table's order."""
        ranked = sorted(self.probes, key=lambda p: p.row_rank)  # stable: ties keep registration order
        return [r for p in ranked for r in p.analyse(self)]

    def rows(self) -> list[Evidence]:
        """The rows of the family's tests (informational rows never decide)."""
        return [r for r in self.evidence() if r.kind != "info"]

    def crossed(self) -> bool:
        return decide(self.rows(), alpha=self.alpha).verdict == "mismatch"


# --------------------------------------------------------------------------- schedule ----


def _schedule(run: _Run) -> list[Step]:
    """Single-request steps in the order they are sent (each names the test it feeds): every probe's
    plan, ``first`` ones whole, then the first half of each ``interleaved`` one in turn and then the
    second halves (so that any kind of substitute is met early), then the ``last`` ones whole."""
    plans = [(p.placement, p.plan(run)) for p in run.probes]  # planned in registration order
    first = [st for where, steps in plans if where == "first" for st in steps]
    halves = [
        (steps[: (len(steps) + 1) // 2], steps[(len(steps) + 1) // 2 :])
        for where, steps in plans
        if where == "interleaved"
    ]
    last = [st for where, steps in plans if where == "last" for st in steps]
    return first + [st for h, _ in halves for st in h] + [st for _, h in halves for st in h] + last


# ------------------------------------------------------------------------------ run ----


def run_fingerprint(
    *,
    out_dir: Path,
    endpoint: str,
    model: str,
    reference: Path | str | BaseReference,
    budget: int = DEFAULT_BUDGET,
    seed: int = 0,
    api_key_env: str | None = None,
    chat: bool | None = None,
    progress: bool = True,
    alpha: float = DEFAULT_ALPHA,
    transport: httpx.BaseTransport | None = None,
    tolerance: str = DEFAULT_TOLERANCE,
    match_tier: str = DEFAULT_MATCH_TIER,
) -> dict[str, Any]:
    """Fingerprint ``endpoint`` (an OpenAI-compatible ``.../v1`` root) serving ``model`` against ``reference``.

    ``reference``: a transformers directory, ``smollm2``, a signature directory
    (``harness fingerprint-signature``), or an opened reference (``trusted.resolve_reference``).
    ``tolerance`` (``16bit`` / ``8bit`` / ``4bit``): the widest numerics still called honest. Writes
    ``fingerprint.json`` and ``fingerprint.md`` into ``out_dir`` and returns the record. Raises ``ValueError`` (incl. ``ReferenceError``) for unusable arguments; an
    endpoint that cannot be used gives a record with status ``error``.
    """
    if budget < 1:
        raise ValueError(f"--budget must be at least 1, got {budget}")
    if not 0 < alpha < 0.5:
        raise ValueError(f"alpha must be in (0, 0.5), got {alpha}")
    if tolerance not in TIERS:
        raise ValueError(f"--tolerance must be one of {', '.join(TIERS)}, got {tolerance!r}")
    order = list(TIERS)
    match_tier = order[min(order.index(match_tier), order.index(tolerance))] if match_tier in TIERS else ""
    if not match_tier:
        raise ValueError(f"match tier must be one of {', '.join(TIERS)}")
    started_at = datetime.now(UTC)
    t0 = time.monotonic()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    ref = reference if isinstance(reference, BaseReference) else load_reference(reference)
    client = Client(endpoint, model, api_key_env=api_key_env, budget=budget, transport=transport)
    bar = _Progress(progress, budget)
    client.on_request = bar.update
    run = _Run(
        client, ref, alpha=alpha, seed=seed, tolerance=tolerance, match_tier=match_tier, report=bar.note
    )
    error: str | None = None
    try:
        with bar:
            bar.note("discovery")
            run.caps = discover(client, chat)
            run.weights = plan_family(api_capabilities(run.caps), reference_generates=ref.can_generate)
            if ref.can_generate:
                bar.note("calibration")
                run.cal = ref.calibration()
            for name, step in _schedule(run):
                if run.crossed():
                    break
                client.probe = name
                bar.note(name)
                started = time.monotonic()
                try:
                    step()
                except BudgetExhausted:
                    run.open_reason = f"the budget of {budget} requests ran out"
                    break
                finally:
                    run.probe_seconds[name] = round(
                        run.probe_seconds.get(name, 0.0) + time.monotonic() - started, 3
                    )
    except EndpointError as e:
        error = str(e)
    except BudgetExhausted:
        run.open_reason = f"the budget of {budget} requests ran out during discovery"
    finally:
        client.close()
    record = _record(run, model=model, budget=budget, seed=seed, chat=chat, error=error)
    record["timing"] = {
        "started_at": started_at.isoformat(timespec="seconds"),
        "seconds": round(time.monotonic() - t0, 3),
        "endpoint_seconds": round(client.ledger.seconds, 3),
        "probe_seconds": run.probe_seconds,
    }
    record = json_safe(record)
    write_outputs(record, out_dir)
    return record


def _record(
    run: _Run, *, model: str, budget: int, seed: int, chat: bool | None, error: str | None
) -> dict[str, Any]:
    ledger = run.client.ledger
    cal = run.cal
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
            "tolerance": run.tolerance,
            "match_tier": run.match_tier,
            "pool_version": pool.POOL_VERSION,
        },
        "capabilities": run.caps,
        "family": rnd_tree(run.weights),
        "calibration": None if cal is None else rnd_tree(cal.to_dict()),
        "cost": {
            "requests": ledger.requests,
            "prompt_tokens": ledger.prompt_tokens,
            "completion_tokens": ledger.completion_tokens,
            "tokens": ledger.prompt_tokens + ledger.completion_tokens,
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
            "evidence": [],
            "skipped": run.skipped,
            **base,
        }
    evidence = run.evidence()
    rows = [r for r in evidence if r.kind != "info"]
    for name, weight in run.weights.items():
        if weight > 0 and not any(r.name == name for r in rows):
            run.skipped.append({"probe": name, "reason": "the reference cannot generate (no weights)"})
    for name in (
        "tokenizer_counts",
        "tokenizer_cuts",
        "echo_text",
        "output_filter",
        "greedy_tokens",
        "token_logprobs",
    ):
        if name not in run.weights:
            run.skipped.append({"probe": name, "reason": _why_not(name, run)})
    reason = run.open_reason
    if not reason and not run.ref.can_generate:
        reason = "the reference has only a tokenizer, so no test could compare weights"
    v = decide(rows, alpha=run.alpha, reason_if_open=reason, match_tier=run.match_tier)
    relation = v.weights_relation
    if v.verdict == "match" and relation != "identical":
        relation = numerics_relation(rows, alpha=run.alpha, tolerance=run.tolerance)
    return {
        "status": status_class(v.verdict),
        "headline": v.headline,
        "verdict": v.verdict,
        "confidence": rnd_tree(v.confidence),
        "confidence_meaning": CONFIDENCE_MEANING[v.verdict],
        "weights_relation": relation,
        "p_family": rnd_tree(v.p_family),
        "rejected_by": v.rejecting,
        "bounds": {r.name: r.bound for r in rows if r.bound},
        "evidence": [r.to_dict() for r in rows + [r for r in evidence if r.kind == "info"]],
        "skipped": run.skipped,
        **base,
    }


def _why_not(name: str, run: _Run) -> str:
    caps = run.caps
    return {
        "tokenizer_counts": "the endpoint reports no usage.prompt_tokens",
        "tokenizer_cuts": "the endpoint returns no text",
        "echo_text": "the endpoint does not echo prompts",
        "output_filter": "the reference cannot generate (no weights)",
        "greedy_tokens": "the reference cannot generate (no weights)",
        "token_logprobs": "the endpoint returns no logprobs"
        if not (caps.get("echo_logprobs") or caps.get("completion_logprobs") or caps.get("chat_logprobs"))
        else "the reference cannot generate (no weights)",
    }[name]


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
