"""``run_fingerprint``: discover the API, fix the family, send probes, stop when a test crosses, record.

Order of a run (docs/fingerprint.md): discovery (which routes and fields the endpoint offers), the
family and its weights (``family.plan_family``, before any probe), then one schedule of single requests
interleaving the tests so that any kind of substitute is met early: token counts, greedy prompts, echoed
texts, copy lists, the rest of each, output cuts, and last the informational identity question. After
every request the touched test's e-process is updated and the run stops as soon as any test crosses its
threshold (valid at any stopping time). Every request counts against ``budget``; a test that could not
finish its planned sample leaves the verdict ``inconclusive`` unless another test rejected.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
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
from harness.fingerprint.evalues import betting_eprocess, detectable_rate, threshold
from harness.fingerprint.evidence import Evidence, format_e, rnd_tree
from harness.fingerprint.family import KINDS, ApiCapabilities, plan_family
from harness.fingerprint.probes import common, echo, greedy, token_count, truncation
from harness.fingerprint.reference import TIERS, load_reference
from harness.fingerprint.report import write_outputs
from harness.fingerprint.responses import parse_chat, parse_completion
from harness.fingerprint.verdict import CONFIDENCE_MEANING, decide, numerics_relation
from harness.records.files import json_safe, package_version, package_versions
from harness.records.status import status_class

SCHEMA_VERSION = 2
TOP_K = 5
N_COUNT = 7
N_GREEDY = 16
N_ECHO = 10
N_COPY = 6
CUT_TEXTS = 1
COPY_MAX_TOKENS = 24
GREEDY_EXTRA = {"repeat_penalty": 1.0}  # llama.cpp's name; vLLM's repetition_penalty already defaults to 1
IDENTITY_QUESTION = "Who are you? Which company created you, and what is your model name?"


@dataclass
class _State:
    """Observations so far, per test (the rows are recomputed from these after every request)."""

    base_count: tuple[int | None, int] | None = None
    counts: list[token_count.CountObservation] = field(default_factory=list)
    greedy: list[greedy.GreedyObservation] = field(default_factory=list)
    greedy_repeat: greedy.GreedyObservation | None = None
    copies: list[greedy.GreedyObservation] = field(default_factory=list)
    echoes: list[echo.EchoObservation] = field(default_factory=list)
    cuts: list[truncation.Cut] = field(default_factory=list)
    identity: list[tuple[str, str]] = field(default_factory=list)
    planned: dict[str, int] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)


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


# ------------------------------------------------------------------------------- rows ----


def _row(
    name: str, weight: float, measured: str, statistic: str, ys: list[float], complete: bool, **kw
) -> Evidence:
    e = betting_eprocess(ys)
    return Evidence(
        name=name,
        kind=kw.pop("kind", KINDS[name]),  # type: ignore[arg-type]
        measured=measured,
        statistic=statistic + f"; {format_e(e.sup)} over {e.n} observations",
        weight=weight,
        e_value=e.sup,
        e_final=e.final,
        n=e.n,
        complete=complete,
        **kw,
    )


def _logprob_bound(n: int, weight: float, alpha: float, rho: float, band: float) -> str | None:
    """The RMS shift (as a multiple of the honest band) that n texts detect with certainty-equivalent
    constant evidence: the smallest constant Y whose e-process crosses the threshold."""
    if n == 0 or weight <= 0:
        return None
    crit = threshold(weight, alpha)
    lo, hi = 1.0, greedy.Y_MAX_LOGPROB
    if betting_eprocess([hi] * n).final < crit:
        return None
    for _ in range(40):
        mid = (lo + hi) / 2
        if betting_eprocess([mid] * n).final >= crit:
            hi = mid
        else:
            lo = mid
    return (
        f"an RMS log-probability shift >= {rho * math.sqrt(hi) * band:.2g} nats per token on every text "
        f"({rho * math.sqrt(hi):.2g}x the honest band {band:.2g} of the match tier)"
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
        self.s = _State()
        self.skipped: list[dict[str, str]] = []
        self.probe_seconds: dict[str, float] = {}
        self.open_reason = ""
        self.echo_d: dict[str, dict[str, list[float]]] = {}

    @property
    def chat(self) -> bool:
        return self.caps["mode"] == "chat"

    def cost(self, probe: str) -> tuple[int, int]:
        entry = self.client.ledger.by_probe.get(probe, {"requests": 0, "tokens": 0})
        return entry["requests"], entry["tokens"]

    # ------------------------------------------------------------------ rows per test ----

    def rows(self) -> list[Evidence]:
        out = []
        w = self.weights
        s = self.s
        if "tokenizer_counts" in w:
            ys, _, differ = token_count.analyse(s.counts)
            req, tok = self.cost("tokenizer_counts")
            n_used = sum(o.endpoint is not None for o in s.counts)
            out.append(
                _row(
                    "tokenizer_counts",
                    w["tokenizer_counts"],
                    f"prompt_tokens of {len(s.counts)} pool strings (digits, rare words, code, scripts, emoji, "
                    "repeats), differenced against a base prompt",
                    f"{n_used - len(differ)}/{n_used} differences equal the reference tokenizer's "
                    f"(quirk allowance {token_count.QUIRK_RATE:.0%} per string)",
                    ys,
                    len(s.counts) >= s.planned.get("tokenizer_counts", N_COUNT),
                    requests=req,
                    tokens=tok,
                    details={
                        "disagreements": [
                            {"string": o.string[:60], "endpoint": o.endpoint, "reference": o.reference}
                            for o in differ[:8]
                        ],
                        "base_offset": None
                        if s.base_count is None or s.base_count[0] is None
                        else s.base_count[0] - s.base_count[1],
                    },
                )
            )
        if "tokenizer_cuts" in w:
            ys, _, cut_rows = truncation.analyse(s.cuts, self.ref)
            beyond = sum(r["cut"] == "beyond" for r in cut_rows)
            req, tok = self.cost("tokenizer_cuts")
            out.append(
                _row(
                    "tokenizer_cuts",
                    w["tokenizer_cuts"],
                    f"{len(cut_rows)} replies cut by max_tokens vs the reference tokenisation of the full reply",
                    f"{beyond}/{len(cut_rows)} cuts beyond the reference's k-th token boundary "
                    f"(quirk allowance {truncation.QUIRK_RATE:.0%})",
                    ys,
                    # a cut that could not be compared (a reply that stopped early) still counts as run
                    len(s.cuts) >= s.planned.get("tokenizer_cuts", 0) * (1 + 1 / len(truncation.CUTS)),
                    requests=req,
                    tokens=tok,
                    details={"cuts": cut_rows[:8]},
                )
            )
        if "echo_text" in w:
            outs = [(o, echo.echo_text_outcome(o, self.ref.roundtrip(o.text))) for o in s.echoes]
            echoed = [(o, r) for o, r in outs if r.echoed]
            ys = [(1 / echo.Q0) if r.edited else 0.0 for _, r in echoed]
            edits = [
                {"deleted": list(r.deleted)[:6], "inserted": list(r.inserted)[:6]}
                for _, r in echoed
                if r.edited
            ]
            deleted: dict[str, int] = {}
            for _, r in echoed:
                for word in r.deleted if r.edited else ():
                    deleted[word] = deleted.get(word, 0) + 1
            req, tok = self.cost("echo")
            out.append(
                _row(
                    "echo_text",
                    w["echo_text"],
                    f"{len(echoed)} echoed prompts vs the text sent, after the tokenizer round trip and "
                    "whitespace/NFKC normalisation",
                    f"{len(edits)}/{len(echoed)} echoes with word-level edits"
                    + (f" (deleted: {', '.join(sorted(deleted))})" if deleted else ""),
                    ys,
                    len(s.echoes) >= s.planned.get("echo", 0),
                    requests=req,
                    tokens=tok,
                    details={
                        "edits": edits[:8],
                        "deleted_words": deleted,
                        "not_echoed": len(outs) - len(echoed),
                    },
                )
            )
        if self.cal is not None and "greedy_tokens" in w:
            out.append(self._greedy_row(w["greedy_tokens"]))
        if self.cal is not None and "output_filter" in w:
            out.append(self._filter_row(w["output_filter"]))
        if self.cal is not None and "token_logprobs" in w:
            out.append(self._logprob_row(w["token_logprobs"]))
        return out

    def _greedy_obs(self) -> list[greedy.GreedyObservation]:
        if self.s.notes.get("greedy_tokens"):
            return []  # the endpoint does not decode greedily: no evidence from it (conservative)
        return self.s.greedy

    def _greedy_row(self, weight: float) -> Evidence:
        cal = self.cal
        obs = self._greedy_obs()
        tiers = {}
        for tier in TIERS:
            a = greedy.analyse(obs, cal.tau[tier], cal.flip_rate[tier])
            tiers[tier] = {
                "e_value": a.e.sup,
                "mean_y": sum(a.ys) / len(a.ys) if a.ys else 0.0,
                "departures": a.departures,
                "tau": cal.tau[tier],
            }
        a = greedy.analyse(obs, cal.tau[self.tolerance], cal.flip_rate[self.tolerance])
        req, tok = self.cost("greedy_tokens")
        kind = "relay" if a.departures and sum(a.vendor_departures.values()) == a.departures else "weights"
        n_info = len(a.ys)
        sorted(o.n_high for o in a.outcomes if o.informative)
        bound = None
        mt = self.match_tier
        m = greedy.analyse(obs, cal.tau[mt], cal.flip_rate[mt])
        m_high = sorted(o.n_high for o in m.outcomes if o.informative)
        if m_high:
            null = min(1.0, m_high[len(m_high) // 2] * cal.flip_rate[mt])
            q = detectable_rate(len(m.ys), null, threshold(weight, self.alpha))
            if q is not None:
                bound = (
                    f"a substitute whose greedy continuation departs from the reference's at a token with margin "
                    f"> {cal.tau[mt]:.2g} nats in >= {q:.0%} of prompts ({len(m.ys)} prompts tested against "
                    f"{mt} numerics)"
                )
        deps = [
            {"prompt": o.key, "token": x.divergence_token, "margin": x.margin, "word": x.word}
            for o, x in zip(obs, a.outcomes, strict=True)
            if x.x
        ][:8]
        return _row(
            "greedy_tokens",
            weight,
            f"greedy continuations ({greedy.MAX_NEW} tokens) of {len(obs)} pool prompts vs the reference's "
            f"greedy path; departures count at margins > tau = {cal.tau[self.tolerance]:.3g} nats "
            f"({self.tolerance} tolerance), honest flip bound {cal.flip_rate[self.tolerance]:.2g} per such token",
            f"{a.departures} high-margin departures in {n_info} informative prompts "
            f"({a.any_departures} departures anywhere, near-ties included)",
            a.ys,
            len(obs) >= self.s.planned.get("greedy_tokens", N_GREEDY),
            kind=kind,
            requests=req,
            tokens=tok,
            bound=bound,
            details={
                "tiers": tiers,
                "departures": deps,
                "vendor_departures": a.vendor_departures,
                "not_greedy": self.s.notes.get("greedy_tokens"),
            },
        )

    def _filter_row(self, weight: float) -> Evidence:
        ys, names = greedy.copy_ys(self.s.copies, self.chat)
        req, tok = self.cost("output_filter")
        return _row(
            "output_filter",
            weight,
            f"{len(self.s.copies)} copy lists naming AI vendors/models, greedy, vs the reference's own copy "
            f"(a list counts when it is the reference's copy with only vendor names deleted or replaced; "
            f"quirk allowance {greedy.COPY_Q0:.0%} per list)",
            f"{sum(1 for y in ys if y)} of {len(ys)} copies had vendor names cut out"
            + (f" ({', '.join(f'{k} x{v}' for k, v in names.items())})" if names else ""),
            ys,
            len(self.s.copies) >= self.s.planned.get("output_filter", N_COPY),
            requests=req,
            tokens=tok,
            details={
                "dropped_names": names,
                "lists": [list(o.copy_items or ()) for o in self.s.copies][:8],
                "endpoint_copies": [o.text[:120] for o in self.s.copies][:8],
            },
        )

    def _logprob_ds(self) -> tuple[list[tuple[str, list[float], str]], bool]:
        """(key, d, alignment) per text or prompt that gave token logprobs; and whether they are generated."""
        out = []
        if self.caps.get("echo_logprobs"):
            cands = []
            for o in self.s.echoes:
                if o.key not in self.echo_d:
                    self.echo_d[o.key] = echo.echo_candidates(self.ref, o)
                cands.append((o.key, self.echo_d[o.key]))
            how = echo.choose_alignment([c for _, c in cands])
            for key, c in cands:
                if how is not None and len(c.get(how, [])) >= 2:
                    out.append((key, c[how], how))
            return out, False
        for o in self._greedy_obs():
            d = greedy.common_prefix_d(o, self.ref)
            if len(d) >= 2:
                out.append((o.key, d, "generated"))
        return out, True

    def _logprob_row(self, weight: float) -> Evidence:
        cal = self.cal
        ds, generated = self._logprob_ds()
        tiers = {}
        for tier in TIERS:
            band = cal.band(tier, generated)
            ys = [y for _, d, _ in ds if (y := greedy.logprob_y(d, band, cal.rho)) is not None]
            tiers[tier] = {
                "e_value": betting_eprocess(ys).sup,
                "mean_y": sum(ys) / len(ys) if ys else 0.0,
                "band": band,
            }
        band = cal.band(self.tolerance, generated)
        ys = [y for _, d, _ in ds if (y := greedy.logprob_y(d, band, cal.rho)) is not None]
        all_d = [x for _, d, _ in ds for x in d]
        identical = bool(all_d) and max(abs(x) for x in all_d) < echo.IDENTICAL_MAX_ABS_D
        ratios = [echo.rms(d) / band for _, d, _ in ds]
        source = (
            "echoed prompt tokens" if self.caps.get("echo_logprobs") else "generated tokens (common prefix)"
        )
        req, tok = self.cost("echo" if self.caps.get("echo_logprobs") else "greedy_tokens")
        if self.caps.get("echo_logprobs"):
            complete = len(self.s.echoes) >= self.s.planned.get("echo", 0) and len(ys) >= 3
        else:  # prompts whose continuation departed at once give no logprobs: they count as run
            complete = (
                len(self._greedy_obs()) >= self.s.planned.get("greedy_tokens", N_GREEDY) and len(ys) >= 3
            )
        med = sorted(ratios)[len(ratios) // 2] if ratios else math.nan
        return _row(
            "token_logprobs",
            weight,
            f"per-token logprob difference endpoint - reference on {len(all_d)} {source} in {len(ds)} texts; "
            f"honest band {band:.3g} nats RMS (largest {self.tolerance} variant, pooled over the calibration set)",
            f"median RMS/band {med:.3g} (a text counts against H0 above RHO = {cal.rho:g}); "
            f"max |d| {max((abs(x) for x in all_d), default=math.nan):.2g} nats",
            ys,
            complete,
            requests=req,
            tokens=tok,
            bound=_logprob_bound(len(ys), weight, self.alpha, cal.rho, cal.band(self.match_tier, generated)),
            details={
                "identical": identical,
                "tiers": tiers,
                "rms_over_band": ratios[:32],
                "alignment": sorted({how for *_, how in ds}),
                "band": band,
                "positions": len(all_d),
            },
        )

    def crossed(self) -> bool:
        return decide(self.rows(), alpha=self.alpha).verdict == "mismatch"


# --------------------------------------------------------------------------- schedule ----


def _schedule(run: _Run) -> list[tuple[str, Callable[[], None]]]:
    """Single-request steps in the order they are sent (each names the test it feeds)."""
    c, ref, s, w = run.client, run.ref, run.s, run.weights
    chat = run.chat
    steps: list[tuple[str, Callable[[], None]]] = []
    gen_lp = TOP_K if api_capabilities(run.caps).generated_logprobs else None

    if "tokenizer_counts" in w:
        strings = [it.text for it in pool.draw("count", run.seed, N_COUNT)]
        s.planned["tokenizer_counts"] = len(strings)

        def base() -> None:
            s.base_count = (
                token_count.request(c, pool.COUNT_BASE, chat),
                token_count.reference_count(ref, pool.COUNT_BASE, chat),
            )

        steps.append(("tokenizer_counts", base))
        for st in strings:

            def one(st: str = st) -> None:
                if s.base_count is None:
                    return
                n = token_count.request(c, pool.COUNT_BASE + st, chat)
                s.counts.append(token_count.observe(s.base_count[0], s.base_count[1], st, n, ref, chat))

            steps.append(("tokenizer_counts", one))

    greedy_steps: list[tuple[str, Callable[[], None]]] = []
    if run.cal is not None and (
        "greedy_tokens" in w or ("token_logprobs" in w and not run.caps.get("echo_logprobs"))
    ):
        items = ref.draw("prompt", run.seed, N_GREEDY, chat=chat)
        s.planned["greedy_tokens"] = len(items)
        for i, it in enumerate(items):

            def one(it: pool.Item = it, i: int = i) -> None:
                path = ref.greedy(ref.prompt_ids(it.text, chat), greedy.MAX_NEW)
                ch = common.greedy(c, it.text, chat=chat, max_tokens=greedy.MAX_NEW, logprobs=gen_lp)
                lp = ch.logprobs
                obs = greedy.GreedyObservation(
                    it.key, it.text, ch.text, ch.finish_reason, path,
                    None if lp is None else list(lp.tokens), None if lp is None else list(lp.logprobs),
                )  # fmt: skip
                s.greedy.append(obs)
                if i == 0:  # the same request again: does the endpoint decode greedily at all?
                    again = common.greedy(c, it.text, chat=chat, max_tokens=greedy.MAX_NEW, logprobs=None)
                    s.greedy_repeat = greedy.GreedyObservation(
                        it.key, it.text, again.text, again.finish_reason, path
                    )
                    if _departs_at_high_margin(obs, s.greedy_repeat, run.cal.tau[run.tolerance]):
                        s.notes["greedy_tokens"] = (
                            "two identical requests at temperature 0 were answered differently at a confident "
                            "token: the endpoint does not decode greedily, so its greedy outputs are not tested"
                        )

            greedy_steps.append(("greedy_tokens", one))

    echo_steps: list[tuple[str, Callable[[], None]]] = []
    if "echo_text" in w or (run.caps.get("echo_logprobs") and "token_logprobs" in w):
        n = N_ECHO if run.caps.get("echo_logprobs") else N_ECHO // 2
        n_vendor = (n + 2) // 3
        vendor, natural = ref.draw("vendor", run.seed, n_vendor), ref.draw("natural", run.seed, n - n_vendor)
        texts = [vendor.pop(0) if i % 3 == 0 and vendor else natural.pop(0) for i in range(n)]
        s.planned["echo"] = len(texts)
        k = TOP_K if run.caps.get("echo_logprobs") else None
        for it in texts:

            def one(it: pool.Item = it) -> None:
                ch = common.echo(c, it.text, logprobs=k)
                s.echoes.append(echo.EchoObservation.from_choice(it.key, it.text, ch))

            echo_steps.append(("echo", one))

    copy_steps: list[tuple[str, Callable[[], None]]] = []
    if "output_filter" in w:
        s.planned["output_filter"] = N_COPY
        for i in range(N_COPY):

            def one(i: int = i) -> None:
                # adaptive: names at which the endpoint departed so far go into the next list
                must = tuple(greedy.dropped_names(s.copies, chat))
                items = ref.copy_items(run.seed, i, must, chat=chat)
                prompt = pool.copy_chat_prompt(items) if chat else pool.copy_prompt(items)
                path = ref.greedy(ref.prompt_ids(prompt, chat), COPY_MAX_TOKENS)
                ch = common.greedy(c, prompt, chat=chat, max_tokens=COPY_MAX_TOKENS)
                s.copies.append(
                    greedy.GreedyObservation(
                        f"copy:{run.seed}:{i}", prompt, ch.text, ch.finish_reason, path, copy_items=items
                    )
                )

            copy_steps.append(("output_filter", one))

    cut_steps: list[tuple[str, Callable[[], None]]] = []
    if "tokenizer_cuts" in w:
        texts = [it.text for it in pool.draw("cut", run.seed, CUT_TEXTS)]
        s.planned["tokenizer_cuts"] = len(texts) * len(truncation.CUTS)
        for t in texts:
            for k in (truncation.FULL_MAX_TOKENS, *truncation.CUTS):

                def one(t: str = t, k: int = k) -> None:
                    s.cuts.append(truncation.request(c, t, k, chat))

                cut_steps.append(("tokenizer_cuts", one))

    def halves(xs):
        h = (len(xs) + 1) // 2
        return xs[:h], xs[h:]

    g1, g2 = halves(greedy_steps)
    e1, e2 = halves(echo_steps)
    c1, c2 = halves(copy_steps)
    steps += g1 + e1 + c1 + g2 + e2 + c2 + cut_steps
    if ref.can_generate:

        def identity() -> None:
            ch = common.greedy(
                c, IDENTITY_QUESTION if chat else f"Q: {IDENTITY_QUESTION}\nA:", chat=chat, max_tokens=32
            )
            path = ref.greedy(
                ref.prompt_ids(IDENTITY_QUESTION if chat else f"Q: {IDENTITY_QUESTION}\nA:", chat), 32
            )
            s.identity.append((ch.text, "".join(path.token_texts)))

        steps.append(("identity", identity))
    return steps


def _departs_at_high_margin(a: greedy.GreedyObservation, b: greedy.GreedyObservation, tau: float) -> bool:
    """Do two answers to the same request differ first at a token the reference is confident about?"""
    from harness.fingerprint.textcompare import normalise

    if normalise(a.text) == normalise(b.text):
        return False
    da, db = a.divergence(), b.divergence()
    if da.token == db.token:  # both depart from the reference at the same place: compare there
        return False
    first = min(t for t in (da.token, db.token) if t is not None)
    return first < len(a.path.margins) and a.path.margins[first] > tau


# ------------------------------------------------------------------------------ run ----


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
    tolerance: str = DEFAULT_TOLERANCE,
    match_tier: str = DEFAULT_MATCH_TIER,
) -> dict[str, Any]:
    """Fingerprint ``endpoint`` (an OpenAI-compatible ``.../v1`` root) serving ``model`` against ``reference``.

    ``reference``: a transformers directory, ``smollm2``, or a signature directory
    (``harness fingerprint-signature``). ``tolerance`` (``16bit`` / ``8bit`` / ``4bit``): the widest
    numerics still called honest. Writes ``fingerprint.json`` and ``fingerprint.md`` into ``out_dir``
    and returns the record. Raises ``ValueError`` (incl. ``ReferenceError``) for unusable arguments; an
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
    ref = load_reference(reference)
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


def _info_rows(run: _Run) -> list[Evidence]:
    rows = []
    s = run.s
    if run.chat and s.base_count and s.base_count[0] is not None:
        offset = s.base_count[0] - s.base_count[1]
        if offset >= token_count.HIDDEN_PROMPT_MIN_TOKENS:
            rows.append(
                Evidence(
                    "hidden_prompt_tell",
                    "info",
                    "prompt_tokens of a one-message chat vs the reference chat template",
                    f"{offset} extra tokens on every chat request: a longer template or a hidden system prompt",
                    details={"extra_tokens": offset},
                )
            )
    if s.identity:
        from harness.fingerprint.pool import VENDOR_WORDS

        endpoint_text, ref_text = s.identity[0]
        named = [w for w in VENDOR_WORDS if w in endpoint_text]
        ref_named = [w for w in VENDOR_WORDS if w in ref_text]
        req, tok = run.cost("identity")
        rows.append(
            Evidence(
                "identity_answer",
                "info",
                "the answer to 'who are you' (models are often wrong about themselves: never decides)",
                f"names {', '.join(named) or 'no vendor'}; the reference names {', '.join(ref_named) or 'no vendor'}",
                requests=req,
                tokens=tok,
                details={"endpoint": endpoint_text[:200], "reference": ref_text[:200]},
            )
        )
    return rows


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
    rows = run.rows()
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
        "evidence": [r.to_dict() for r in rows + _info_rows(run)],
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
