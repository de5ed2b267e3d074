"""The fingerprint's probes, each a ``Probe`` (``probes.base``): its requests and its evidence row.

The statistics live in the probe modules (``token_count``, ``truncation``, ``echo``, ``greedy``) as pure
functions; a class here only says which requests the test sends in a run (``plan``) and turns the
observations into its row (``analyse``). Registered in schedule order: token counts first, then greedy
prompts, echoed texts and copy lists interleaved, then output cuts and the identity question. The
token-logprob test sends nothing of its own: it reads the echoes' or the greedy answers' logprobs.
"""

from __future__ import annotations

import math

from harness.fingerprint import pool
from harness.fingerprint.evalues import betting_eprocess, detectable_rate, threshold
from harness.fingerprint.evidence import Evidence
from harness.fingerprint.probes import common, echo, greedy, token_count, truncation
from harness.fingerprint.probes.base import (
    COPY_DRAWS,
    COPY_MAX_TOKENS,
    CUT_TEXTS,
    IDENTITY_QUESTION,
    N_COPY,
    N_COUNT,
    N_ECHO,
    N_GREEDY,
    TOP_K,
    Probe,
    Run,
    Step,
    evidence_row,
    register_probe,
)
from harness.fingerprint.reference import TIERS


def generated_logprobs(run: Run) -> bool:
    chat = run.caps["mode"] == "chat"
    return bool(run.caps.get("chat_logprobs") if chat else run.caps.get("completion_logprobs"))


def greedy_observations(run: Run) -> list[greedy.GreedyObservation]:
    """The greedy answers that count: none when the endpoint was seen not to decode greedily."""
    if run.s.notes.get("greedy_tokens"):
        return []  # the endpoint does not decode greedily: no evidence from it (conservative)
    return run.s.greedy


@register_probe
class TokenCountProbe(Probe):
    """``usage.prompt_tokens`` of pool strings, differenced against a base prompt (tokenizer test)."""

    name = "tokenizer_counts"
    placement = "first"
    row_rank = 0

    def plan(self, run: Run) -> list[Step]:
        if "tokenizer_counts" not in run.weights:
            return []
        c, ref, s, chat = run.client, run.ref, run.s, run.chat
        strings = [it.text for it in pool.draw("count", run.seed, N_COUNT)]
        s.planned["tokenizer_counts"] = len(strings)

        def base() -> None:
            s.base_count = (
                token_count.request(c, pool.COUNT_BASE, chat),
                token_count.reference_count(ref, pool.COUNT_BASE, chat),
            )

        steps: list[Step] = [("tokenizer_counts", base)]
        for st in strings:

            def one(st: str = st) -> None:
                if s.base_count is None:
                    return
                n = token_count.request(c, pool.COUNT_BASE + st, chat)
                s.counts.append(token_count.observe(s.base_count[0], s.base_count[1], st, n, ref, chat))

            steps.append(("tokenizer_counts", one))
        return steps

    def analyse(self, run: Run) -> list[Evidence]:
        s = run.s
        out = []
        if "tokenizer_counts" in run.weights:
            ys, _, differ = token_count.analyse(s.counts)
            req, tok = run.cost("tokenizer_counts")
            n_used = sum(o.endpoint is not None for o in s.counts)
            out.append(
                evidence_row(
                    "tokenizer_counts",
                    run.weights["tokenizer_counts"],
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
        if run.chat and s.base_count and s.base_count[0] is not None:
            offset = s.base_count[0] - s.base_count[1]
            if offset >= token_count.HIDDEN_PROMPT_MIN_TOKENS:
                out.append(
                    Evidence(
                        "hidden_prompt_tell",
                        "info",
                        "prompt_tokens of a one-message chat vs the reference chat template",
                        f"{offset} extra tokens on every chat request: a longer template or a hidden system prompt",
                        details={"extra_tokens": offset},
                    )
                )
        return out


@register_probe
class GreedyProbe(Probe):
    """Greedy continuations of pool prompts vs the reference's greedy path (weights test)."""

    name = "greedy_tokens"
    row_rank = 3

    def plan(self, run: Run) -> list[Step]:
        w = run.weights
        if run.cal is None or not (
            "greedy_tokens" in w or ("token_logprobs" in w and not run.caps.get("echo_logprobs"))
        ):
            return []
        c, ref, s, chat = run.client, run.ref, run.s, run.chat
        gen_lp = TOP_K if generated_logprobs(run) else None
        items = ref.draw("prompt", run.seed, N_GREEDY, chat=chat)
        s.planned["greedy_tokens"] = len(items)
        steps: list[Step] = []
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
                    if departs_at_high_margin(obs, s.greedy_repeat, run.cal.tau[run.tolerance]):
                        s.notes["greedy_tokens"] = (
                            "two identical requests at temperature 0 were answered differently at a confident "
                            "token: the endpoint does not decode greedily, so its greedy outputs are not tested"
                        )

            steps.append(("greedy_tokens", one))
        return steps

    def analyse(self, run: Run) -> list[Evidence]:
        if run.cal is None or "greedy_tokens" not in run.weights:
            return []
        weight = run.weights["greedy_tokens"]
        cal = run.cal
        pool_obs = greedy_observations(run)
        # The copy lists' answers are greedy continuations too, of prompts fixed before each request, on
        # which the reference is confident (copying): the same honest-flip bound holds for them, and a
        # model that does not copy as the reference does departs at high margin. (A relay deleting a
        # name departs at a vendor token: the row then says relay, not weights.)
        obs = pool_obs + ([] if run.s.notes.get("greedy_tokens") else run.s.copies)
        tiers = {}
        for tier in TIERS:
            a = greedy.analyse(obs, cal.tau[tier], cal.flip_rate[tier])
            tiers[tier] = {
                "e_value": a.e.sup,
                "mean_y": sum(a.ys) / len(a.ys) if a.ys else 0.0,
                "departures": a.departures,
                "tau": cal.tau[tier],
            }
        a = greedy.analyse(obs, cal.tau[run.tolerance], cal.flip_rate[run.tolerance])
        req, tok = run.cost("greedy_tokens")
        kind = "relay" if a.departures and sum(a.vendor_departures.values()) == a.departures else "weights"
        n_info = len(a.ys)
        bound = None
        mt = run.match_tier
        m = greedy.analyse(obs, cal.tau[mt], cal.flip_rate[mt])
        m_high = sorted(o.n_high for o in m.outcomes if o.informative)
        if m_high:
            null = min(1.0, m_high[len(m_high) // 2] * cal.flip_rate[mt])
            q = detectable_rate(len(m.ys), null, threshold(weight, run.alpha))
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
        return [
            evidence_row(
                "greedy_tokens",
                weight,
                f"greedy continuations ({greedy.MAX_NEW} tokens) of {len(pool_obs)} pool prompts and "
                f"{len(obs) - len(pool_obs)} copy lists vs the reference's "
                f"greedy path; departures count at margins > tau = {cal.tau[run.tolerance]:.3g} nats "
                f"({run.tolerance} tolerance), honest flip bound {cal.flip_rate[run.tolerance]:.2g} per such token",
                f"{a.departures} high-margin departures in {n_info} informative prompts "
                f"({a.any_departures} departures anywhere, near-ties included)",
                a.ys,
                len(pool_obs) >= run.s.planned.get("greedy_tokens", N_GREEDY),
                kind=kind,
                requests=req,
                tokens=tok,
                bound=bound,
                details={
                    "tiers": tiers,
                    "departures": deps,
                    "vendor_departures": a.vendor_departures,
                    "not_greedy": run.s.notes.get("greedy_tokens"),
                },
            )
        ]


@register_probe
class EchoProbe(Probe):
    """Prompts echoed back by /completions vs the text sent (relay test; the echoes' logprobs feed
    the token-logprob test)."""

    name = "echo"
    row_rank = 2

    def plan(self, run: Run) -> list[Step]:
        w = run.weights
        if not ("echo_text" in w or (run.caps.get("echo_logprobs") and "token_logprobs" in w)):
            return []
        c, ref, s = run.client, run.ref, run.s
        n = N_ECHO if run.caps.get("echo_logprobs") else N_ECHO // 2
        n_vendor = (n + 2) // 3
        vendor, natural = ref.draw("vendor", run.seed, n_vendor), ref.draw("natural", run.seed, n - n_vendor)
        texts = [vendor.pop(0) if i % 3 == 0 and vendor else natural.pop(0) for i in range(n)]
        s.planned["echo"] = len(texts)
        k = TOP_K if run.caps.get("echo_logprobs") else None
        steps: list[Step] = []
        for it in texts:

            def one(it: pool.Item = it) -> None:
                ch = common.echo(c, it.text, logprobs=k)
                s.echoes.append(echo.EchoObservation.from_choice(it.key, it.text, ch))

            steps.append(("echo", one))
        return steps

    def analyse(self, run: Run) -> list[Evidence]:
        if "echo_text" not in run.weights:
            return []
        s = run.s
        outs = [(o, echo.echo_text_outcome(o, run.ref.roundtrip(o.text))) for o in s.echoes]
        echoed = [(o, r) for o, r in outs if r.echoed]
        ys = [(1 / echo.Q0) if r.edited else 0.0 for _, r in echoed]
        edits = [
            {"deleted": list(r.deleted)[:6], "inserted": list(r.inserted)[:6]} for _, r in echoed if r.edited
        ]
        deleted: dict[str, int] = {}
        for _, r in echoed:
            for word in r.deleted if r.edited else ():
                deleted[word] = deleted.get(word, 0) + 1
        req, tok = run.cost("echo")
        return [
            evidence_row(
                "echo_text",
                run.weights["echo_text"],
                f"{len(echoed)} echoed prompts vs the text sent, after the tokenizer round trip and "
                "whitespace/NFKC normalisation",
                f"{len(edits)}/{len(echoed)} echoes with word-level edits"
                + (f" (deleted: {', '.join(sorted(deleted))})" if deleted else ""),
                ys,
                len(s.echoes) >= s.planned.get("echo", 0),
                requests=req,
                tokens=tok,
                details={"edits": edits[:8], "deleted_words": deleted, "not_echoed": len(outs) - len(echoed)},
            )
        ]


@register_probe
class CopyProbe(Probe):
    """Lists naming AI vendors, copied greedily, vs the reference's own copy (output-filter relay test)."""

    name = "output_filter"
    row_rank = 4

    def plan(self, run: Run) -> list[Step]:
        if "output_filter" not in run.weights:
            return []
        c, ref, s, chat = run.client, run.ref, run.s, run.chat
        s.planned["output_filter"] = N_COPY
        steps: list[Step] = []
        for i in range(N_COPY):

            def one(i: int = i) -> None:
                # adaptive: names at which the endpoint departed so far go into the next list; until
                # one has, the priority names (the Reflection tell first) take turns
                must = tuple(greedy.dropped_names(s.copies, chat)) or (
                    pool.PRIORITY_VENDORS[i % len(pool.PRIORITY_VENDORS)],
                )
                for a in range(COPY_DRAWS):  # a list whose reference copy names a vendor (pre-request)
                    items = ref.copy_items(run.seed, i + N_COPY * a, must, chat=chat)
                    prompt = pool.copy_chat_prompt(items) if chat else pool.copy_prompt(items)
                    path = ref.greedy(ref.prompt_ids(prompt, chat), COPY_MAX_TOKENS)
                    if greedy.copies_a_vendor_name(path, items, chat):
                        break
                else:
                    s.copy_unsent += 1  # nothing this reference copies: no request, no observation
                    return
                ch = common.greedy(c, prompt, chat=chat, max_tokens=COPY_MAX_TOKENS)
                s.copies.append(
                    greedy.GreedyObservation(
                        f"copy:{run.seed}:{i}", prompt, ch.text, ch.finish_reason, path, copy_items=items
                    )
                )

            steps.append(("output_filter", one))
        return steps

    def analyse(self, run: Run) -> list[Evidence]:
        if run.cal is None or "output_filter" not in run.weights:
            return []
        s = run.s
        weight = run.weights["output_filter"]
        ys, names = greedy.copy_ys(s.copies, run.chat)
        req, tok = run.cost("output_filter")
        q = detectable_rate(len(ys), greedy.COPY_Q0, threshold(weight, run.alpha)) if ys else None
        bound = (
            f"a relay deleting vendor names from >= {q:.0%} of generated answers ({len(ys)} copy lists whose "
            "reference copy names a vendor)"
            if q is not None
            else f"not measured: {len(ys)} copy lists whose reference copy names a vendor are too few to detect "
            "a relay that deletes vendor names from generated answers"
        )
        unsent = (
            f"; {s.copy_unsent} planned lists not sent (the reference's own copy named no vendor in "
            f"{COPY_DRAWS} draws)"
            if s.copy_unsent
            else ""
        )
        return [
            evidence_row(
                "output_filter",
                weight,
                f"{len(s.copies)} copy lists naming AI vendors/models (each sent only when the reference's own "
                "greedy copy writes a vendor name), greedy, vs the reference's own copy (a list counts when it is "
                f"the reference's copy with only vendor names deleted or replaced; quirk allowance "
                f"{greedy.COPY_Q0:.0%} per list){unsent}",
                f"{sum(1 for y in ys if y)} of {len(ys)} copies had vendor names cut out"
                + (f" ({', '.join(f'{k} x{v}' for k, v in names.items())})" if names else ""),
                ys,
                len(s.copies) + s.copy_unsent >= s.planned.get("output_filter", N_COPY),
                requests=req,
                tokens=tok,
                bound=bound,
                details={
                    "dropped_names": names,
                    "lists": [list(o.copy_items or ()) for o in s.copies][:8],
                    "endpoint_copies": [o.text[:120] for o in s.copies][:8],
                    "reference_copies": ["".join(o.path.token_texts)[:120] for o in s.copies][:8],
                    "unsent": s.copy_unsent,
                },
            )
        ]


@register_probe
class CutProbe(Probe):
    """Replies cut by ``max_tokens`` vs the reference tokenisation of the full reply (tokenizer test)."""

    name = "tokenizer_cuts"
    placement = "last"
    row_rank = 1

    def plan(self, run: Run) -> list[Step]:
        if "tokenizer_cuts" not in run.weights:
            return []
        c, s, chat = run.client, run.s, run.chat
        texts = [it.text for it in pool.draw("cut", run.seed, CUT_TEXTS)]
        s.planned["tokenizer_cuts"] = len(texts) * len(truncation.CUTS)
        steps: list[Step] = []
        for t in texts:
            for k in (truncation.FULL_MAX_TOKENS, *truncation.CUTS):

                def one(t: str = t, k: int = k) -> None:
                    s.cuts.append(truncation.request(c, t, k, chat))

                steps.append(("tokenizer_cuts", one))
        return steps

    def analyse(self, run: Run) -> list[Evidence]:
        if "tokenizer_cuts" not in run.weights:
            return []
        s = run.s
        ys, _, cut_rows = truncation.analyse(s.cuts, run.ref)
        beyond = sum(r["cut"] == "beyond" for r in cut_rows)
        req, tok = run.cost("tokenizer_cuts")
        return [
            evidence_row(
                "tokenizer_cuts",
                run.weights["tokenizer_cuts"],
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
        ]


@register_probe
class IdentityProbe(Probe):
    """'Who are you?': reported, never decides (models are often wrong about themselves)."""

    name = "identity"
    placement = "last"
    row_rank = 7

    def plan(self, run: Run) -> list[Step]:
        if not run.ref.can_generate:
            return []
        c, ref, s, chat = run.client, run.ref, run.s, run.chat

        def identity() -> None:
            ch = common.greedy(
                c, IDENTITY_QUESTION if chat else f"Q: {IDENTITY_QUESTION}\nA:", chat=chat, max_tokens=32
            )
            path = ref.greedy(
                ref.prompt_ids(IDENTITY_QUESTION if chat else f"Q: {IDENTITY_QUESTION}\nA:", chat), 32
            )
            s.identity.append((ch.text, "".join(path.token_texts)))

        return [("identity", identity)]

    def analyse(self, run: Run) -> list[Evidence]:
        if not run.s.identity:
            return []
        endpoint_text, ref_text = run.s.identity[0]
        named = [w for w in pool.VENDOR_WORDS if w in endpoint_text]
        ref_named = [w for w in pool.VENDOR_WORDS if w in ref_text]
        req, tok = run.cost("identity")
        return [
            Evidence(
                "identity_answer",
                "info",
                "the answer to 'who are you' (models are often wrong about themselves: never decides)",
                f"names {', '.join(named) or 'no vendor'}; the reference names {', '.join(ref_named) or 'no vendor'}",
                requests=req,
                tokens=tok,
                details={"endpoint": endpoint_text[:200], "reference": ref_text[:200]},
            )
        ]


@register_probe
class LogprobProbe(Probe):
    """Per-token logprobs of echoed prompts (or of the greedy answers' common prefix) vs the
    reference's (weights test); it sends nothing of its own."""

    name = "token_logprobs"
    row_rank = 5

    def plan(self, run: Run) -> list[Step]:
        return []  # the echoes and the greedy answers carry its logprobs

    def analyse(self, run: Run) -> list[Evidence]:
        if run.cal is None or "token_logprobs" not in run.weights:
            return []
        weight = run.weights["token_logprobs"]
        cal = run.cal
        ds, generated = _logprob_ds(run)
        tiers = {}
        for tier in TIERS:
            band = cal.band(tier, generated)
            ys = [y for _, d, _ in ds if (y := greedy.logprob_y(d, band, cal.rho)) is not None]
            tiers[tier] = {
                "e_value": betting_eprocess(ys).sup,
                "mean_y": sum(ys) / len(ys) if ys else 0.0,
                "band": band,
            }
        band = cal.band(run.tolerance, generated)
        ys = [y for _, d, _ in ds if (y := greedy.logprob_y(d, band, cal.rho)) is not None]
        all_d = [x for _, d, _ in ds for x in d]
        identical = bool(all_d) and max(abs(x) for x in all_d) < echo.IDENTICAL_MAX_ABS_D
        ratios = [echo.rms(d) / band for _, d, _ in ds]
        from_echo = bool(run.caps.get("echo_logprobs"))
        source = "echoed prompt tokens" if from_echo else "generated tokens (common prefix)"
        req, tok = run.cost("echo" if from_echo else "greedy_tokens")
        if from_echo:
            complete = len(run.s.echoes) >= run.s.planned.get("echo", 0) and len(ys) >= 3
        else:  # prompts whose continuation departed at once give no logprobs: they count as run
            complete = (
                len(greedy_observations(run)) >= run.s.planned.get("greedy_tokens", N_GREEDY) and len(ys) >= 3
            )
        med = sorted(ratios)[len(ratios) // 2] if ratios else math.nan
        return [
            evidence_row(
                "token_logprobs",
                weight,
                f"per-token logprob difference endpoint - reference on {len(all_d)} {source} in {len(ds)} texts; "
                f"honest band {band:.3g} nats RMS (largest {run.tolerance} variant, pooled over the calibration set)",
                f"median RMS/band {med:.3g} (a text counts against H0 above RHO = {cal.rho:g}); "
                f"max |d| {max((abs(x) for x in all_d), default=math.nan):.2g} nats",
                ys,
                complete,
                requests=req,
                tokens=tok,
                bound=logprob_bound(len(ys), weight, run.alpha, cal.rho, cal.band(run.match_tier, generated)),
                details={
                    "identical": identical,
                    "tiers": tiers,
                    "rms_over_band": ratios[:32],
                    "alignment": sorted({how for *_, how in ds}),
                    "band": band,
                    "positions": len(all_d),
                },
            )
        ]


def _logprob_ds(run: Run) -> tuple[list[tuple[str, list[float], str]], bool]:
    """(key, d, alignment) per text or prompt that gave token logprobs; and whether they are generated."""
    out = []
    if run.caps.get("echo_logprobs"):
        cands = []
        for o in run.s.echoes:
            if o.key not in run.s.echo_d:
                run.s.echo_d[o.key] = echo.echo_candidates(run.ref, o)
            cands.append((o.key, run.s.echo_d[o.key]))
        how = echo.choose_alignment([c for _, c in cands])
        for key, c in cands:
            if how is not None and len(c.get(how, [])) >= 2:
                out.append((key, c[how], how))
        return out, False
    for o in greedy_observations(run):
        d = greedy.common_prefix_d(o, run.ref)
        if len(d) >= 2:
            out.append((o.key, d, "generated"))
    return out, True


def logprob_bound(n: int, weight: float, alpha: float, rho: float, band: float) -> str | None:
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


def departs_at_high_margin(a: greedy.GreedyObservation, b: greedy.GreedyObservation, tau: float) -> bool:
    """Do two answers to the same request differ first at a token the reference is confident about?"""
    from harness.fingerprint.textcompare import normalise

    if normalise(a.text) == normalise(b.text):
        return False
    da, db = a.divergence(), b.divergence()
    if da.token == db.token:  # both depart from the reference at the same place: compare there
        return False
    first = min(t for t in (da.token, db.token) if t is not None)
    return first < len(a.path.margins) and a.path.margins[first] > tau
