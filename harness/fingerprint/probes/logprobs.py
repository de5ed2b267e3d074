"""Log-probabilities against a local forward pass of the reference, calibrated on the reference itself.

Request part: ``/v1/completions`` with ``echo`` and ``logprobs=k`` returns the endpoint's log-probabilities
for every token of a text we wrote (vLLM, llama.cpp and our test server support it); where echo is
refused, the logprobs of generated tokens (completions or chat ``top_logprobs``) are used instead.

Analysis (pure): per position the ``divergence`` statistics; per text their means; then three tests.

1. Identical: every observed-token logprob within 2e-3 nats of the reference and top-k KL below 1e-5:
   the same weights computed the same way (float32 re-ordering is far below this).
2. Magnitude: mean top-k KL of the endpoint vs the calibrated bands (``calibration``), paired by text:
   above ``MARGIN`` x the quantisation band means different weights (``p_above``); below
   ``MARGIN`` x a band, with a one-sided equivalence test (``p_within``), means "same weights within
   that band".
3. Coherent drift: the cluster-robust mean of ``u`` over texts, per unit of divergence (divided by
   sqrt(mean KL): the "drift ratio", the same for unstructured noise of any size), tested against its
   first-order null scale under random weight noise (``statistics.null_drift_test``; the derivation is
   in ``calibration``). The calibration variants are real null draws that must agree with that scale,
   else the test falls back to Student's t on their spread. This is what catches a light fine-tune
   whose magnitude is well inside the band: a few optimiser steps on any text move the likelihood of
   other natural text coherently, numerics do not. ``scripts/fingerprint_null_check.py`` checks the
   null on fresh noise draws and the power on fine-tunes (results in docs/fingerprint.md).

Sequential use: texts are sent in batches (looks); a mismatch may stop the probe at any look (each look
tests at alpha / looks, Bonferroni), a match is only declared after the last look, so the drift test
always has its full sample before it is allowed to pass a fine-tune.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from harness.fingerprint.client import Client
from harness.fingerprint.divergence import PositionStats, compare_rows, empty_stats
from harness.fingerprint.evidence import Evidence, format_p, rnd
from harness.fingerprint.responses import parse_chat, parse_completion
from harness.fingerprint.statistics import (
    cluster_t,
    drift_detectable,
    null_drift_test,
    paired_band_test,
)

MARGIN = 2.0  # a band is MARGIN x the largest calibration divergence in it (KL, so sqrt(2) in logits)
IDENTICAL_MAX_ABS_D = 2e-3
IDENTICAL_MAX_KL = 1e-5
SHIFTED_MAX_REF_RANK = 10  # shifted echo: drift positions where the reference ranks the token top-10


@dataclass
class EchoRecord:
    """An endpoint's per-token report on one text (echo) or on its own continuation (generated)."""

    text_index: int
    prompt_ids: list[int]  # reference ids of the prompt as the endpoint tokenised it (echo) or as sent
    tokens: list[str]
    logprobs: list[float | None]
    top: list[dict[str, float] | None]
    returned_text: str
    mode: str  # "echo" | "generated"


def request_echo(client: Client, text: str, k: int) -> dict[str, Any]:
    body = {"prompt": text, "max_tokens": 1, "temperature": 0, "echo": True, "logprobs": k}
    return client.post("/completions", body)


def request_generated(client: Client, prompt: str, k: int, max_tokens: int, chat: bool) -> dict[str, Any]:
    if chat:
        body: dict[str, Any] = {
            "messages": [{"role": "user", "content": prompt}],
            "max_tokens": max_tokens,
            "temperature": 0,
            "logprobs": True,
            "top_logprobs": k,
        }
        return client.post("/chat/completions", body)
    body = {"prompt": prompt, "max_tokens": max_tokens, "temperature": 0, "logprobs": k}
    return client.post("/completions", body)


def echo_record(data: dict[str, Any], text_index: int, text: str) -> EchoRecord | None:
    """The echo part of a completions response, or None when the server ignored echo/logprobs."""
    choice = parse_completion(data).choices[0]
    lp = choice.logprobs
    if lp is None or not lp.tokens:
        return None
    return EchoRecord(text_index, [], lp.tokens, lp.logprobs, lp.top, choice.text, "echo")


def generated_record(
    data: dict[str, Any], text_index: int, prompt_ids: list[int], chat: bool
) -> EchoRecord | None:
    resp = parse_chat(data) if chat else parse_completion(data)
    choice = resp.choices[0]
    lp = choice.logprobs
    if lp is None or not lp.tokens:
        return None
    return EchoRecord(text_index, prompt_ids, lp.tokens, lp.logprobs, lp.top, choice.text, "generated")


# ------------------------------------------------------------------------- alignment (pure) ----


@dataclass
class Aligned:
    """Reference ids for the endpoint's token sequence, and where each reported entry belongs."""

    ids: list[int]
    offset: int  # endpoint token position p is ids position p + offset
    entries: list[dict[int, float] | None]  # per endpoint position, top-k mapped to reference ids
    chosen: list[float | None]  # per endpoint position, the logprob of the token at that position
    unmapped_keys: int
    total_keys: int


def _same_token(a: str, b: str) -> bool:
    # Partial UTF-8 pieces are shown as "" by some servers and as U+FFFD by others.
    return a == b or a in ("", "\ufffd") or b in ("", "\ufffd") or "\ufffd" in a or "\ufffd" in b


def align_echo(ref, record: EchoRecord, text: str) -> Aligned | None:
    """Match the endpoint's echoed tokens to the reference tokenisation of ``text``; None if they differ.

    Servers differ in whether a BOS token is listed: offset -1 means the endpoint lists a special token
    the reference tokenizer does not add (it is prepended), +1 that it hides one the reference adds.
    """
    local = ref.encode(text)
    local_text = [ref.token_text(i) for i in local]
    T = record.tokens  # the prompt's tokens, then the generated one(s)
    for offset in (0, 1, -1):
        if offset >= 0:
            a, b = T, local_text[offset:]
            ids = local
        else:
            if not T or T[0] not in ref.special_token_texts or T[0] not in ref.string_to_id:
                continue
            a, b = T[1:], local_text
            ids = [ref.string_to_id[T[0]], *local]
        if len(a) >= len(b) and all(_same_token(x, y) for x, y in zip(a, b, strict=False)):
            break
    else:
        return None
    n_prompt = len(b) + (1 if offset < 0 else 0)
    prompt_only = EchoRecord(
        record.text_index,
        ids,
        record.tokens[:n_prompt],
        record.logprobs[:n_prompt],
        record.top[:n_prompt],
        record.returned_text,
        record.mode,
    )
    return _map_entries(ref, prompt_only, ids, max(offset, 0))


def align_generated(ref, record: EchoRecord) -> Aligned | None:
    """Generated tokens: map each reported token text to a reference id (None if any is unknown)."""
    ids = []
    for t in record.tokens:
        i = ref.string_to_id.get(t)
        if i is None:
            return None
        ids.append(i)
    return _map_entries(ref, record, record.prompt_ids + ids, len(record.prompt_ids))


def _map_entries(ref, record: EchoRecord, ids: list[int], offset: int) -> Aligned:
    s2i = ref.string_to_id
    entries: list[dict[int, float] | None] = []
    unmapped = total = 0
    for top in record.top:
        if top is None:
            entries.append(None)
            continue
        mapped = {}
        items = list(top.items())
        for n, (key, value) in enumerate(items):
            total += 1
            i = s2i.get(key)
            # Servers list the top-k best first. An entry listed before a more probable one was
            # overwritten by another token with the same text (llama-cpp-python keys top-k by text):
            # its value belongs to neither token, so it is dropped.
            overwritten = any(v > value + 1e-6 for _, v in items[n + 1 :])
            if i is None or overwritten:
                unmapped += 1
            else:
                mapped[i] = value
        entries.append(mapped)
    return Aligned(ids, offset, entries, list(record.logprobs), unmapped, total)


def endpoint_stats(aligned: Aligned, ref_rows, shift: int) -> PositionStats:
    """PositionStats over reference rows 0..n-2 from an endpoint's entries.

    ``shift`` 0: the entry at token q describes row q-1 (the OpenAI semantics). ``shift`` 1: it
    describes row q, the distribution of the *next* token (llama-cpp-python 0.3's echo without a BOS
    token); then the observed token's logprob is known only when it is in the top-k.
    """
    n = len(aligned.ids)
    rows_entries: list[dict[int, float] | None] = [None] * (n - 1)
    rows_chosen: list[float | None] = [None] * (n - 1)
    for p, top in enumerate(aligned.entries):
        q = p + aligned.offset
        r = q - 1 + shift
        if not 0 <= r < n - 1:
            continue
        rows_entries[r] = top
        if shift == 0:
            rows_chosen[r] = aligned.chosen[p]
    if not any(e is not None for e in rows_entries):
        return empty_stats(n - 1)
    return compare_rows(rows_entries, aligned.ids[1:], rows_chosen, ref_rows)


def choose_shift(stats_by_shift: dict[int, list[PositionStats]]) -> tuple[int, dict[int, float]]:
    """The alignment under which the endpoint's top tokens agree best with the reference's."""
    agreement = {}
    for shift, stats in stats_by_shift.items():
        covered = np.concatenate([np.isfinite(s.kl) for s in stats]) if stats else np.zeros(0, bool)
        top1 = np.concatenate([s.top1 for s in stats]) if stats else np.zeros(0, bool)
        agreement[shift] = float(top1[covered].mean()) if covered.any() else 0.0
    best = max(sorted(agreement), key=lambda s: (agreement[s], -s))
    return best, agreement


# --------------------------------------------------------------------------- analysis (pure) ----


@dataclass
class LogprobAnalysis:
    relation: (
        str  # identical | same weights within a precision/quantisation band | different weights | unknown
    )
    band_tier: str | None  # "precision" | "quantisation" when within a band
    supports: str
    p_mismatch: float
    p_within: float
    decisive: bool
    positions: int
    drift_positions: int
    texts: int
    mean_kl: float
    max_abs_d: float
    top1_agreement: float
    precision_band: float
    quantisation_band: float
    band_test_precision: Any
    band_test_quantisation: Any
    drift: Any  # DriftTest or None
    drift_mean: float
    drift_se: float
    drift_detectable: float
    kl_detectable: float
    equivalent_noise: float  # relative weight noise with the same mean KL (calibrated on noise-1%)
    variant_kl: dict[str, float] = field(default_factory=dict)
    drift_ratio: float = math.nan
    variant_drift_ratio: dict[str, float] = field(default_factory=dict)
    null_analytic: float = math.nan
    notes: list[str] = field(default_factory=list)


def _distinct(
    calibration: dict[str, list[PositionStats]], kl: dict[str, float]
) -> dict[str, list[PositionStats]]:
    """Drop a variant whose divergence equals an earlier one's: it computed the same numbers (e.g. 4-bit
    re-quantisation of weights that already sit on a 4-bit grid), so it is not another null draw."""
    out: dict[str, list[PositionStats]] = {}
    for kind, stats in calibration.items():
        if not any(math.isclose(kl[kind], kl[k], rel_tol=1e-9, abs_tol=0.0) for k in out):
            out[kind] = stats
    return out


def drift_mask(stats: PositionStats, shift: int, *, is_endpoint: bool = True) -> np.ndarray:
    """Rows whose ``u`` enters the drift test. Shifted echo (the observed token is only known when it is
    in the endpoint's top-k): rows where the *reference* ranks it in its top ``SHIFTED_MAX_REF_RANK``, a
    choice the endpoint cannot influence; a calibration variant applies its own top-k the same way."""
    m = np.isfinite(stats.u)
    if shift == 1:
        m[:1] = False
        m &= (stats.ref_rank >= 0) & (stats.ref_rank < SHIFTED_MAX_REF_RANK)
        if not is_endpoint:
            m &= stats.in_topk
    return m


def analyse(
    endpoint: list[PositionStats],
    calibration: dict[str, list[PositionStats]],
    *,
    shift: int,
    mode: str,
    alpha: float,
    looks: int,
    final: bool,
    grad_sq_norm: float | None = None,
) -> LogprobAnalysis:
    """Identical / within a band / different weights, from endpoint and calibration PositionStats.

    ``grad_sq_norm`` is ||w * G||^2 over the endpoint's drift rows (``calibration.loglik_gradient_sq_norm``);
    without it the drift test falls back to the spread of the calibration variants alone.
    """
    from harness.fingerprint.calibration import NOISE_VARIANTS, PRECISION_VARIANTS, QUANTISATION_VARIANTS

    alpha_look = alpha / max(looks, 1)
    kl_rows = [np.isfinite(s.kl) for s in endpoint]
    kl_e = [float(s.kl[m].mean()) if m.any() else math.nan for s, m in zip(endpoint, kl_rows, strict=True)]
    keep = [i for i, v in enumerate(kl_e) if math.isfinite(v)]
    texts = len(keep)
    notes: list[str] = []

    def per_text_kl(stats: list[PositionStats]) -> list[float]:
        return [float(stats[i].kl[kl_rows[i]].mean()) for i in keep]

    variant_kl = {kind: float(np.mean(per_text_kl(s))) for kind, s in calibration.items()}
    prec_kind = max(PRECISION_VARIANTS, key=lambda k: variant_kl.get(k, -1.0))
    quant_kind = max(PRECISION_VARIANTS + QUANTISATION_VARIANTS, key=lambda k: variant_kl.get(k, -1.0))
    e_kl = [kl_e[i] for i in keep]
    band_prec = paired_band_test(e_kl, per_text_kl(calibration[prec_kind]), MARGIN, alpha_look)
    band_quant = paired_band_test(e_kl, per_text_kl(calibration[quant_kind]), MARGIN, alpha_look)

    all_d = np.concatenate([s.d[np.isfinite(s.d)] for s in endpoint]) if endpoint else np.zeros(0)
    max_abs_d = float(np.abs(all_d).max()) if len(all_d) else math.nan
    top1 = (
        np.concatenate([s.top1[m] for s, m in zip(endpoint, kl_rows, strict=True)])
        if endpoint
        else np.zeros(0)
    )
    positions = int(sum(m.sum() for m in kl_rows))
    mean_kl = float(np.mean(e_kl)) if e_kl else math.nan

    drift = None
    drift_mean = drift_se = drift_det = drift_ratio = null_analytic = math.nan
    variant_ratio: dict[str, float] = {}
    drift_positions = 0
    if mode == "echo" and texts >= 3:
        groups = [endpoint[i].u[drift_mask(endpoint[i], shift)] for i in keep]
        drift_positions = int(sum(len(g) for g in groups))
        ct = cluster_t(groups)
        drift_mean, drift_se = ct.mean, ct.se
        # The drift per unit of divergence: first-order in the perturbation over first-order, so the
        # same for an unstructured perturbation of any size, and several times larger for training.
        drift_ratio = ct.mean / math.sqrt(mean_kl) if mean_kl > 0 else math.nan
        for kind, stats in _distinct(calibration, variant_kl).items():
            v = cluster_t([stats[i].u[drift_mask(stats[i], shift, is_endpoint=False)] for i in keep]).mean
            variant_ratio[kind] = v / math.sqrt(variant_kl[kind]) if variant_kl[kind] > 0 else math.nan
        sigma = NOISE_VARIANTS["noise-1%"][0]
        noise_kl = variant_kl.get("noise-1%", 0.0)
        if grad_sq_norm is not None and noise_kl > 0 and drift_positions > 0:
            null_analytic = sigma * math.sqrt(grad_sq_norm) / drift_positions / math.sqrt(noise_kl)
        drift = null_drift_test(drift_ratio, null_analytic, variant_ratio)
        drift_det = drift_detectable(drift.null_scale, drift.df, alpha_look) * math.sqrt(max(mean_kl, 0.0))
    elif mode != "echo":
        notes.append(
            "only generated-token logprobs were available: the endpoint chose those tokens itself, so "
            "the coherent-drift test (which needs text the endpoint did not choose) could not run"
        )

    noise_kl = variant_kl.get("noise-1%")
    sigma = NOISE_VARIANTS["noise-1%"][0]
    equivalent_noise = sigma * math.sqrt(mean_kl / noise_kl) if noise_kl and mean_kl >= 0 else math.nan

    identical = (
        positions > 0
        and max_abs_d <= IDENTICAL_MAX_ABS_D
        and all(s.kl[m].max() <= IDENTICAL_MAX_KL for s, m in zip(endpoint, kl_rows, strict=True) if m.any())
    )
    p_drift = drift.p_value if drift is not None and math.isfinite(drift.p_value) else math.nan
    tests = [p for p in (p_drift, band_quant.p_above) if math.isfinite(p)]
    p_mismatch = min(1.0, len(tests) * min(tests)) if tests else math.nan
    p_within = band_quant.p_within
    decisive = False
    if identical:
        relation, tier, supports = "identical", None, "match"
        decisive = final
        p_within = 0.0
    elif math.isfinite(p_mismatch) and p_mismatch < alpha_look:
        relation, tier, supports, decisive = "different weights", None, "mismatch", True
    elif final and p_within < alpha:
        relation = "same weights within a precision/quantisation band"
        tier = "precision" if band_prec.p_within < alpha else "quantisation"
        supports, decisive = "match", True
    else:
        relation, tier, supports = "unknown", None, "neutral"
    return LogprobAnalysis(
        relation=relation,
        band_tier=tier,
        supports=supports,
        p_mismatch=p_mismatch,
        p_within=p_within,
        decisive=decisive,
        positions=positions,
        drift_positions=drift_positions,
        texts=texts,
        mean_kl=mean_kl,
        max_abs_d=max_abs_d,
        top1_agreement=float(top1.mean()) if len(top1) else math.nan,
        precision_band=MARGIN * variant_kl[prec_kind],
        quantisation_band=MARGIN * variant_kl[quant_kind],
        band_test_precision=band_prec,
        band_test_quantisation=band_quant,
        drift=drift,
        drift_mean=drift_mean,
        drift_se=drift_se,
        drift_detectable=drift_det,
        kl_detectable=band_quant.detectable,
        equivalent_noise=equivalent_noise,
        variant_kl=variant_kl,
        drift_ratio=drift_ratio,
        variant_drift_ratio=variant_ratio,
        null_analytic=null_analytic,
        notes=notes,
    )


def to_evidence(a: LogprobAnalysis, *, k: int, mode: str, shift: int, requests: int, tokens: int) -> Evidence:
    what = "echoed prompt tokens" if mode == "echo" else "generated tokens"
    measured = (
        f"top-{k} logprobs of {a.positions} {what} in {a.texts} texts vs a local forward pass of the "
        f"reference; mean top-k KL {a.mean_kl:.3g} nats/token (precision band {a.precision_band:.3g}, "
        f"quantisation band {a.quantisation_band:.3g}; like {100 * a.equivalent_noise:.2g}% weight noise)"
    )
    parts = [
        f"KL/quantisation band = {a.mean_kl / a.quantisation_band:.3g}" if a.quantisation_band else "no band"
    ]
    parts.append(f"beyond band {format_p(a.band_test_quantisation.p_above)}")
    if a.drift is not None:
        parts.append(
            f"coherent drift {a.drift_mean:+.4f} nats/token = {a.drift_ratio:+.3f} x sqrt(KL), numerics give "
            f"±{a.drift.null_scale:.3f} ({format_p(a.drift.p_value)}, t with {a.drift.df} df)"
        )
    if a.relation == "identical":
        statistic = f"identical: max |Δlogprob| {a.max_abs_d:.2g} nats ≤ {IDENTICAL_MAX_ABS_D}"
    else:
        statistic = "; ".join(parts)
    if a.supports == "mismatch":
        strength = 1 - a.p_mismatch
    elif a.supports == "match":
        strength = 1 - a.p_within
    else:
        strength = 0.0
    details: dict[str, Any] = {
        "relation": a.relation,
        "band_tier": a.band_tier,
        "alignment": "standard" if shift == 0 else "shifted by one position (llama-cpp-python echo)",
        "positions": a.positions,
        "drift_positions": a.drift_positions,
        "texts": a.texts,
        "mean_kl": a.mean_kl,
        "max_abs_logprob_diff": a.max_abs_d,
        "top1_agreement": a.top1_agreement,
        "precision_band_kl": a.precision_band,
        "quantisation_band_kl": a.quantisation_band,
        "band_margin": MARGIN,
        "p_above_quantisation_band": a.band_test_quantisation.p_above,
        "p_within_quantisation_band": a.band_test_quantisation.p_within,
        "p_within_precision_band": a.band_test_precision.p_within,
        "equivalent_weight_noise": a.equivalent_noise,
        "smallest_detectable_kl": a.kl_detectable,
        "smallest_detectable_drift_nats_per_token": a.drift_detectable,
        "calibration_kl": a.variant_kl,
    }
    if a.drift is not None:
        details |= {
            "drift_mean": a.drift_mean,
            "drift_se": a.drift_se,
            "drift_ratio": a.drift_ratio,
            "drift_null_scale": a.drift.null_scale,
            "drift_df": a.drift.df,
            "drift_p": a.drift.p_value,
            "calibration_drift_ratio": a.variant_drift_ratio,
            "drift_null_analytic": a.null_analytic,
        }
    if a.notes:
        details["notes"] = a.notes
    return Evidence(
        name="logprob_probe",
        kind="weights",
        measured=measured,
        statistic=statistic,
        supports=a.supports,  # type: ignore[arg-type]
        strength=strength if math.isfinite(strength) else 0.0,
        requests=requests,
        tokens=tokens,
        p_value=rnd(a.p_mismatch),
        decisive=a.decisive,
        details=details,
    )


# ------------------------------------------------------------------------ sequential driver ----


GENERATED_PROMPT_FRACTION = 0.6
GENERATED_MAX_TOKENS = 16


class LogprobSession:
    """Collects endpoint reports text by text and re-analyses after each look (batch of texts)."""

    def __init__(
        self, ref, texts: tuple[str, ...], *, k: int, mode: str, chat: bool, alpha: float, looks: int
    ):
        self.ref = ref
        self.texts = texts
        self.k = k
        self.mode = mode  # "echo" | "generated"
        self.chat = chat
        self.alpha = alpha
        self.looks = looks
        self.aligned: list[Aligned] = []
        self.text_ids: list[int] = []
        self.echo_pairs: list[tuple[str, str]] = []
        self.unaligned: list[int] = []
        self.shift = 0
        self.shift_agreement: dict[int, float] = {}
        self.analysis: LogprobAnalysis | None = None
        self.analysed_final = False

    def prompt_for(self, i: int) -> str:
        text = self.texts[i]
        if self.mode == "echo":
            return text
        words = text.split(" ")
        return " ".join(words[: max(3, int(len(words) * GENERATED_PROMPT_FRACTION))])

    def request(self, client: Client, i: int, first_response: dict[str, Any] | None = None) -> None:
        prompt = self.prompt_for(i)
        if self.mode == "echo":
            data = first_response if first_response is not None else request_echo(client, prompt, self.k)
            rec = echo_record(data, i, prompt)
            self.echo_pairs.append((prompt, parse_completion(data).choices[0].text))
            aligned = align_echo(self.ref, rec, prompt) if rec is not None else None
        else:
            data = first_response or request_generated(
                client, prompt, self.k, GENERATED_MAX_TOKENS, self.chat
            )
            ids = (
                self.ref.chat_prompt_ids([{"role": "user", "content": prompt}])
                if self.chat
                else self.ref.encode(prompt)
            )
            rec = generated_record(data, i, ids, self.chat)
            aligned = align_generated(self.ref, rec) if rec is not None else None
        if aligned is None or len(aligned.ids) < 3:
            self.unaligned.append(i)
            return
        self.aligned.append(aligned)
        self.text_ids.append(i)

    def analyse(self, *, final: bool, calibrate_fn, grad_fn=None) -> LogprobAnalysis | None:
        if len(self.aligned) < 3:
            return None
        seqs = [a.ids for a in self.aligned]
        rows = self.ref.log_softmax_rows(seqs)
        shifts = (0, 1) if self.mode == "echo" else (0,)
        by_shift = {
            s: [endpoint_stats(a, r, s) for a, r in zip(self.aligned, rows, strict=True)] for s in shifts
        }
        self.shift, self.shift_agreement = choose_shift(by_shift)
        calibration = calibrate_fn(self.ref, seqs, rows, self.k)
        grad = None
        if self.mode == "echo" and grad_fn is not None:
            masks = [drift_mask(st, self.shift) for st in by_shift[self.shift]]
            grad = grad_fn(self.ref, seqs, masks)
        self.analysed_final = final
        self.analysis = analyse(
            by_shift[self.shift],
            calibration,
            shift=self.shift,
            mode=self.mode,
            alpha=self.alpha,
            looks=self.looks,
            final=final,
            grad_sq_norm=grad,
        )
        return self.analysis

    def evidence(self, requests: int, tokens: int) -> Evidence | None:
        if self.analysis is None:
            return None
        ev = to_evidence(
            self.analysis, k=self.k, mode=self.mode, shift=self.shift, requests=requests, tokens=tokens
        )
        ev.details["texts_not_aligned"] = len(self.unaligned)
        ev.details["looks"] = self.looks
        # p-values in the record are corrected for the looks, so Holm across probes can treat them alike.
        if ev.p_value is not None:
            ev.p_value = min(1.0, ev.p_value * self.looks)
        return ev
