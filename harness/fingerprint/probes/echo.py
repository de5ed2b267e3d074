"""Echoed prompts: the ``echo_text`` test and the prompt-token half of ``token_logprobs``.

``/completions`` with ``echo`` returns our prompt (as text, and with ``logprobs`` also its tokens and
their log-probabilities). Two tests read it:

* ``echo_text``: the returned prompt must be ours up to honest text handling (the claimed tokenizer's
  ``decode(encode(text))``, whitespace and NFKC normalisation). Only word-level edits that remain under
  both comparisons count (``X = 1``); honest servers showed none, and a per-text quirk rate ``Q0`` is
  allowed, so ``Y = X / Q0``. A rejection means "a relay rewrites text", not "different weights".
* ``token_logprobs`` (prompt tokens): ``d`` = endpoint minus reference log-probability of each prompt
  token; ``Y = min(Y_MAX, RMS(d)^2 / (RHO band)^2)`` per text (docs/fingerprint.md). It needs only the
  chosen token's logprob, so it works when a server returns token logprobs without top-k. Servers
  differ in alignment (llama-cpp-python 0.3 lists at token q the distribution of token q + 1): every
  alignment the response supports is scored and the one with the smaller RMS kept, which can only make
  the test more conservative.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from harness.fingerprint.responses import Choice
from harness.fingerprint.textcompare import echoed_at_all, word_edits

Q0 = 0.02
IDENTICAL_MAX_ABS_D = 2e-3
MIN_COVERAGE = 0.5


@dataclass
class EchoObservation:
    key: str
    text: str  # what we sent
    returned: str  # the echoed text (prompt + one generated token)
    tokens: list[str] | None
    logprobs: list[float | None] | None
    top: list[dict[str, float] | None] | None

    @classmethod
    def from_choice(cls, key: str, text: str, choice: Choice) -> EchoObservation:
        lp = choice.logprobs
        return cls(
            key,
            text,
            choice.text,
            None if lp is None else list(lp.tokens),
            None if lp is None else list(lp.logprobs),
            None if lp is None else list(lp.top),
        )


# ------------------------------------------------------------------------- echo_text ----


@dataclass(frozen=True)
class EchoTextOutcome:
    echoed: bool
    edited: bool
    deleted: tuple[str, ...]
    inserted: tuple[str, ...]


def echo_text_outcome(obs: EchoObservation, roundtrip: str) -> EchoTextOutcome:
    """Word-level edits that neither the text we sent nor its tokenizer round trip explains."""
    if not echoed_at_all(obs.text, obs.returned):
        return EchoTextOutcome(False, False, (), ())
    direct = word_edits(obs.text, obs.returned)
    if not direct.any:
        return EchoTextOutcome(True, False, (), ())
    via = word_edits(roundtrip, obs.returned)
    if not via.any:
        return EchoTextOutcome(True, False, (), ())
    best = min((direct, via), key=lambda e: len(e.deleted) + len(e.inserted))
    return EchoTextOutcome(True, True, best.deleted, best.inserted)


# -------------------------------------------------------------------- token_logprobs ----


def _same(a: str, b: str) -> bool:
    # partial UTF-8 pieces are shown as "" or U+FFFD by different servers
    return a == b or a in ("", "\ufffd") or b in ("", "\ufffd") or "\ufffd" in a or "\ufffd" in b


def align_tokens(ref, obs: EchoObservation) -> tuple[list[int], int] | None:
    """Reference ids of the echoed prompt and the offset of endpoint token p in them (p + offset), or None.

    Offset 0: the same tokens; +1: the endpoint hides a BOS the reference adds; -1: it lists a special
    token the reference does not add (then that token is prepended to the ids).
    """
    if not obs.tokens:
        return None
    local = ref.encode(obs.text)
    local_text = [ref.token_text(i) for i in local]
    T = obs.tokens
    for offset in (0, 1, -1):
        if offset >= 0:
            a, b, ids = T, local_text[offset:], local
        else:
            if not T or T[0] not in ref.special_token_texts or T[0] not in ref.string_to_id:
                continue
            a, b, ids = T[1:], local_text, [ref.string_to_id[T[0]], *local]
        if len(b) >= 2 and len(a) >= len(b) and all(_same(x, y) for x, y in zip(a, b, strict=False)):
            return ids, offset
    return None


STANDARD = "standard"
SHIFTED = "shifted by one position (llama-cpp-python echo)"
SHIFTED_MAX_REF_RANK = 3


def echo_candidates(ref, obs: EchoObservation) -> dict[str, list[float]]:
    """Per alignment the response supports, the per-token ``d`` values of the prompt tokens.

    ``standard``: the logprob listed at endpoint position p is that of token q = p (+ offset) given the
    tokens before it. ``shifted`` (llama-cpp-python 0.3 without BOS): the top-k listed at p describes
    token q + 1, so its logprob is known only when it is in the top-k; to keep that choice from biasing
    ``d``, only tokens the *reference* ranks in its top ``SHIFTED_MAX_REF_RANK`` are used (a selection the
    endpoint cannot influence, and at such tokens honest numerics keep the token in any top-k).
    """
    aligned = align_tokens(ref, obs)
    if aligned is None or obs.logprobs is None:
        return {}
    ids, offset = aligned
    ref_lp = ref.token_logprobs(ids)  # ref_lp[j - 1] = log P(ids[j] | ids[:j])
    n = len(ids)

    def q_of(p: int) -> int:  # endpoint position -> index in ids
        return p + offset if offset >= 0 else p

    out: dict[str, list[float]] = {}
    std = []
    for p, lp in enumerate(obs.logprobs):
        q = q_of(p)
        if 1 <= q < n and lp is not None:
            std.append(float(lp) - ref_lp[q - 1])
    out[STANDARD] = std
    if obs.top is not None:
        ranks = ref.token_ranks(ids)
        s2i = ref.string_to_id
        sh = []
        for p, top in enumerate(obs.top):
            q = q_of(p) + 1
            if top is None or not 1 <= q < n or ranks[q - 1] >= SHIFTED_MAX_REF_RANK:
                continue
            hit = [v for k, v in top.items() if s2i.get(k) == ids[q]]
            if hit:
                sh.append(float(hit[0]) - ref_lp[q - 1])
        out[SHIFTED] = sh
    return {k: v for k, v in out.items() if len(v) >= 2}


def choose_alignment(candidates: list[dict[str, list[float]]]) -> str | None:
    """One alignment for the whole endpoint: the one with the smaller median RMS over the texts that
    support both (a server does not change its alignment between requests). Choosing the smaller can
    only make the test more conservative."""
    both = [c for c in candidates if STANDARD in c and SHIFTED in c]
    if both:

        def med(name: str) -> float:
            vals = sorted(rms(c[name]) for c in both)
            return vals[len(vals) // 2]

        return min((STANDARD, SHIFTED), key=med)
    names = {k for c in candidates for k in c}
    return STANDARD if STANDARD in names else (SHIFTED if SHIFTED in names else None)


def rms(d: list[float]) -> float:
    return math.sqrt(sum(x * x for x in d) / len(d)) if d else math.nan
