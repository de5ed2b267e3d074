"""The log-probability probe's pure parts: alignment to the reference tokenizer, the echo shift, the tests."""

from __future__ import annotations

import numpy as np
import pytest

from harness.fingerprint.divergence import PositionStats
from harness.fingerprint.probes import logprobs as L
from harness.fingerprint.reference import Reference

TEXT = "Natalia sold 48 clips in April and half as many in May. How many clips did she sell?"


@pytest.fixture(scope="module")
def tiny_ref(tiny_dir) -> Reference:
    return Reference.load(tiny_dir)


def _echo_response(ref: Reference, text: str, *, shift: int, k: int = 5, bos: bool = False) -> dict:
    """What a server would send for echo=True, logprobs=k, max_tokens=1, from the reference's own rows."""
    ids = ref.encode(text)
    if bos:
        ids = [ref.tokenizer.bos_token_id, *ids]
    rows = ref.log_softmax_rows([ids])[0]
    gen = int(rows[-1].argmax())
    all_ids = [*ids, gen]
    tokens = [ref.token_text(i) for i in all_ids]
    lps, tops = [None], [None]
    for q in range(1, len(all_ids)):
        row = rows[q - 1 + shift] if q - 1 + shift < len(ids) else rows[-1]
        vals, idx = row.topk(k)
        tops.append({ref.token_text(int(i)): float(v) for i, v in zip(idx, vals, strict=True)})
        lps.append(float(row[all_ids[q]]))
    return {
        "choices": [
            {
                "text": text + ref.token_text(gen),
                "logprobs": {"tokens": tokens, "token_logprobs": lps, "top_logprobs": tops},
                "finish_reason": "length",
            }
        ],
        "usage": {"prompt_tokens": len(ids), "completion_tokens": 1},
    }


@pytest.mark.parametrize(("shift", "bos"), [(0, False), (1, False), (0, True)])
def test_alignment_and_shift_detection_reproduce_the_reference_exactly(tiny_ref, shift, bos):
    # k large enough that, under the shifted semantics, observed tokens are often in the top-k
    data = _echo_response(tiny_ref, TEXT, shift=shift, bos=bos, k=400)
    rec = L.echo_record(data, 0, TEXT)
    aligned = L.align_echo(tiny_ref, rec, TEXT)
    assert aligned is not None
    assert aligned.ids[-len(tiny_ref.encode(TEXT)) :] == tiny_ref.encode(TEXT)
    rows = tiny_ref.log_softmax_rows([aligned.ids])[0]
    by_shift = {s: [L.endpoint_stats(aligned, rows, s)] for s in (0, 1)}
    chosen, agreement = L.choose_shift(by_shift)
    # tokens whose text is ambiguous (partial UTF-8 shown as U+FFFD) cannot be mapped and are dropped,
    # so the endpoint's best *mappable* token is occasionally not the reference's best
    assert chosen == shift and agreement[shift] > 0.8 > agreement[1 - shift]
    stats = by_shift[shift][0]
    assert np.isfinite(stats.d).sum() >= (5 if shift else len(stats))
    assert np.nanmax(np.abs(stats.d)) < 1e-5 and np.nanmax(stats.kl) < 1e-9


def test_alignment_refuses_a_different_tokenisation(tiny_ref, smollm2_dir):
    other = Reference.load(smollm2_dir)
    data = _echo_response(other, TEXT, shift=0)
    assert L.align_echo(tiny_ref, L.echo_record(data, 0, TEXT), TEXT) is None


def _stats(
    n_texts: int, n_tok: int, *, kl: float, u_mean: float, u_sd: float, seed: int
) -> list[PositionStats]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n_texts):
        u = rng.normal(u_mean, u_sd, n_tok)
        out.append(
            PositionStats(
                d=u.copy(),
                u=u,
                kl=np.abs(rng.normal(kl, kl / 3, n_tok)),
                top1=np.ones(n_tok, bool),
                ref_rank=np.zeros(n_tok, int),
                in_topk=np.ones(n_tok, bool),
            )
        )
    return out


def _calibration(n_texts: int, n_tok: int = 40, seed: int = 10) -> dict[str, list[PositionStats]]:
    kls = {"bf16": 0.001, "w8": 0.0012, "a8": 0.003, "w4a8": 0.003, "noise-1%": 0.009, "noise-0.3%": 0.0007}
    return {
        k: _stats(n_texts, n_tok, kl=v, u_mean=0.0, u_sd=0.05, seed=seed + i)
        for i, (k, v) in enumerate(kls.items())
    }


def test_analysis_within_band_only_at_the_final_look():
    cal = _calibration(24)
    ep = _stats(24, 40, kl=0.0025, u_mean=0.0, u_sd=0.05, seed=99)
    early = L.analyse(ep, cal, shift=0, mode="echo", alpha=0.01, looks=4, final=False)
    assert early.relation == "unknown" and not early.decisive
    final = L.analyse(ep, cal, shift=0, mode="echo", alpha=0.01, looks=4, final=True)
    assert final.relation == "same weights within a precision/quantisation band" and final.supports == "match"
    assert final.precision_band == pytest.approx(2 * 0.003, rel=0.2)


def test_analysis_flags_coherent_drift_inside_the_band_at_any_look():
    cal = _calibration(24)
    ep = _stats(24, 40, kl=0.0002, u_mean=0.02, u_sd=0.05, seed=5)
    a = L.analyse(ep, cal, shift=0, mode="echo", alpha=0.01, looks=4, final=False)
    assert a.relation == "different weights" and a.decisive and a.drift.p_value < 0.0025
    assert a.mean_kl < a.precision_band  # the magnitude alone would have passed it


def test_analysis_flags_magnitude_beyond_the_band():
    cal = _calibration(24)
    ep = _stats(24, 40, kl=0.05, u_mean=0.0, u_sd=0.05, seed=6)
    a = L.analyse(ep, cal, shift=0, mode="echo", alpha=0.01, looks=4, final=False)
    assert a.relation == "different weights" and a.band_test_quantisation.p_above < 1e-6


def test_generated_mode_has_no_drift_test():
    cal = _calibration(12, 16)
    ep = _stats(12, 16, kl=0.0002, u_mean=0.05, u_sd=0.05, seed=7)
    a = L.analyse(ep, cal, shift=0, mode="generated", alpha=0.01, looks=2, final=True)
    assert a.drift is None and a.notes and a.supports == "match"


def test_identical_is_recognised():
    cal = _calibration(6, 30)
    ep = _stats(6, 30, kl=0.0, u_mean=0.0, u_sd=0.0, seed=8)
    for s in ep:
        s.kl[:] = 0.0
    a = L.analyse(ep, cal, shift=0, mode="echo", alpha=0.01, looks=4, final=True)
    assert a.relation == "identical" and a.supports == "match" and a.decisive
    ev = L.to_evidence(a, k=20, mode="echo", shift=0, requests=6, tokens=180)
    assert ev.details["relation"] == "identical" and ev.strength == 1.0
