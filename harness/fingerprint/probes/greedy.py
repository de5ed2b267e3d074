"""Greedy continuations against the reference's greedy path: ``greedy_tokens`` and ``output_filter``.

An honest endpoint decoding greedily follows the reference's greedy path until numerics flip a token,
which can only happen at a near-tie (Token-DiFR's observation, Karvonen et al. 2025, "DiFR: Inference
Verification Despite Nondeterminism", used here at temperature 0). For each prompt we find the first
character where the endpoint's text departs from the reference's (``textcompare.first_divergence``,
after honest normalisation) and the reference token covering it. The departure counts (``X = 1``) only
where the reference's margin exceeds the calibrated threshold ``tau``; under H0 its probability is at
most ``n_high * flip_rate`` (``n_high``: positions of the reference's path with margin above ``tau``,
known before the request; ``flip_rate``: the calibrated bound on an honest flip at such a position),
so ``Y = X / (n_high flip_rate)`` has mean at most 1. Prompts with ``n_high = 0`` cannot show anything
and are not counted.

``output_filter`` (the Reflection tell: a relay deleting "Claude" from generated answers) uses copy
lists that name AI vendors and models, and looks at the *text*: ``X = 1`` when the endpoint's copy is
the reference's copy with vendor names deleted (or replaced by other names) and every other word
intact. Numerics that flip a token at a name go on to write something else, not the same list without
the name; a relay edit is exactly that. Honest endpoints showed none; a per-list quirk allowance
``COPY_Q0`` is granted, so ``Y = X / COPY_Q0``. The lists are chosen adaptively (allowed: each list
depends on the past only): a name that was dropped goes into the following lists. A list is only sent
when the reference's own greedy copy writes one of its vendor names (``copies_a_vendor_name``, known
before the request): a small chat model often answers a copy request with something else ("I'm a
helpful AI..."), and a list its reference does not copy can show no deletion, so sending it would only
spend requests and dilute the e-process with zeros that say nothing.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

from harness.fingerprint.evalues import betting_eprocess
from harness.fingerprint.pool import VENDOR_WORDS
from harness.fingerprint.reference import GreedyPath
from harness.fingerprint.textcompare import Divergence, first_divergence

MAX_NEW = 16
Y_MAX_LOGPROB = 25.0
COPY_Q0 = 0.02


@dataclass
class GreedyObservation:
    """One prompt: what we sent, what came back, and the reference's greedy path for it."""

    key: str
    prompt: str
    text: str
    finish_reason: str | None
    path: GreedyPath
    tokens: list[str] | None = None  # the endpoint's generated tokens, when it reported logprobs
    logprobs: list[float | None] | None = None
    copy_items: tuple[str, ...] | None = None

    def divergence(self) -> Divergence:
        return first_divergence(
            self.text,
            self.path.token_texts,
            ref_stopped=self.path.stopped,
            endpoint_stopped=self.finish_reason == "stop",
        )


def token_starts(path: GreedyPath) -> list[int]:
    starts, pos = [], 0
    for t in path.token_texts:
        starts.append(pos)
        pos += len(t)
    return starts


def vendor_starts(path: GreedyPath) -> set[int]:
    """Indices of path tokens at which a vendor/model name starts in the reference's text."""
    text = "".join(path.token_texts)
    out = set()
    for i, start in enumerate(token_starts(path)):
        rest = text[start:].lstrip(" ")
        prev = text[: start + (len(text[start:]) - len(text[start:].lstrip(" ")))]
        if prev and (prev[-1].isalnum() or prev[-1] == "-"):
            continue  # inside a word
        starts_name = any(
            rest.startswith(w) and not rest[len(w) : len(w) + 1].isalnum() for w in VENDOR_WORDS
        )
        if starts_name and path.token_texts[i].strip():  # a whitespace-only token does not start the name
            out.add(i)
    return out


def word_at_token(path: GreedyPath, index: int) -> str:
    if index >= len(path.token_texts):
        return "<end of text>"
    text = "".join(path.token_texts)
    rest = text[token_starts(path)[index] :].lstrip()
    for w in VENDOR_WORDS:
        if rest.startswith(w):
            return w
    word = rest.split(" ")[0] if rest else ""
    return word[:30]


@dataclass
class GreedyOutcome:
    x: bool
    informative: bool
    n_high: int
    divergence_token: int | None
    margin: float | None
    word: str | None
    vendor: bool


def outcome(obs: GreedyObservation, tau: float, *, vendor_only: bool = False) -> GreedyOutcome:
    """Was the first departure at a high-margin (and, for ``vendor_only``, vendor-name) token?"""
    margins = obs.path.margins
    vendors = vendor_starts(obs.path)
    high = [i for i, m in enumerate(margins) if m > tau and (not vendor_only or i in vendors)]
    div = obs.divergence()
    if div.token is None:
        return GreedyOutcome(False, bool(high), len(high), None, None, None, False)
    t = div.token
    m = margins[t] if t < len(margins) else None
    is_vendor = t in vendors
    x = m is not None and m > tau and (is_vendor or not vendor_only)
    return GreedyOutcome(x, bool(high), len(high), t, m, word_at_token(obs.path, t), is_vendor)


@dataclass
class GreedyAnalysis:
    ys: list[float]
    outcomes: list[GreedyOutcome]
    departures: int  # high-margin departures counted
    any_departures: int  # departures anywhere (incl. near-ties)
    vendor_departures: dict[str, int] = field(default_factory=dict)
    e: Any = None


def analyse(
    observations: list[GreedyObservation], tau: float, flip_rate: float, *, vendor_only: bool = False
) -> GreedyAnalysis:
    ys: list[float] = []
    outs: list[GreedyOutcome] = []
    vendor_words: dict[str, int] = {}
    any_dep = 0
    for obs in observations:
        o = outcome(obs, tau, vendor_only=vendor_only)
        outs.append(o)
        any_dep += o.divergence_token is not None
        if not o.informative:
            continue
        ys.append(min(1.0, o.n_high * flip_rate) ** -1 if o.x else 0.0)
        if o.x and o.vendor and o.word:
            vendor_words[o.word] = vendor_words.get(o.word, 0) + 1
    a = GreedyAnalysis(ys, outs, sum(o.x for o in outs), any_dep, vendor_words)
    a.e = betting_eprocess(ys)
    return a


def _list_part(text: str, chat: bool) -> str:
    return text if chat else text.strip().split("\n")[0]


def copy_edit(obs: GreedyObservation, chat: bool) -> tuple[bool, tuple[str, ...], tuple[str, ...]]:
    """(relay-like edit?, vendor names deleted, words inserted) of the endpoint's copy vs the reference's."""
    from harness.fingerprint.textcompare import word_edits

    ref_text = _list_part("".join(obs.path.token_texts), chat)
    e = word_edits(ref_text, _list_part(obs.text, chat))
    vendor_parts = {p for w in VENDOR_WORDS for p in w.replace("-", " ").split()}
    deleted_vendor = [w for w in e.deleted if w in vendor_parts]
    clean = (
        bool(deleted_vendor)
        and len(deleted_vendor) == len(e.deleted)
        and all(w in vendor_parts for w in e.inserted)
    )
    return clean, tuple(deleted_vendor), e.inserted


def copies_a_vendor_name(path: GreedyPath, items: tuple[str, ...], chat: bool) -> bool:
    """Whether the reference's greedy copy of ``items`` writes one of the list's vendor names (as a
    whole word): only then can a relay's deletion of that name show in the endpoint's copy."""
    ref_text = _list_part("".join(path.token_texts), chat)
    return any(re.search(rf"(?<![\w-]){re.escape(v)}(?![\w-])", ref_text) for v in items if v in VENDOR_WORDS)


def copy_ys(observations: list[GreedyObservation], chat: bool) -> tuple[list[float], dict[str, int]]:
    ys: list[float] = []
    names: dict[str, int] = {}
    for obs in observations:
        clean, deleted, _ = copy_edit(obs, chat)
        ys.append(1 / COPY_Q0 if clean else 0.0)
        if clean:
            for w in deleted:
                names[w] = names.get(w, 0) + 1
    return ys, names


def dropped_names(observations: list[GreedyObservation], chat: bool) -> list[str]:
    """Vendor names the endpoint's copies left out where the reference wrote them (adaptive lists)."""
    names: list[str] = []
    for obs in observations:
        _, deleted, _ = copy_edit(obs, chat)
        for w in deleted:
            full = next((v for v in VENDOR_WORDS if w in v.replace("-", " ").split()), w)
            if full not in names:
                names.append(full)
    return names


# ------------------------------------------------------------ generated-token logprobs ----


def common_prefix_d(obs: GreedyObservation, ref) -> list[float]:
    """d = endpoint - reference logprob of each generated token while both emitted the same tokens."""
    if not obs.tokens or not obs.logprobs:
        return []
    d = []
    for t, (tok, lp) in enumerate(zip(obs.tokens, obs.logprobs, strict=False)):
        if t >= len(obs.path.ids) or lp is None:
            break
        rid = obs.path.ids[t]
        if tok not in (ref.token_text(rid), obs.path.token_texts[t]):
            break
        d.append(float(lp) - obs.path.logprobs[t])
    return d


def logprob_y(d: list[float], band: float, rho: float) -> float | None:
    """``min(Y_MAX, r^2 / (rho band)^2)`` with r the RMS of ``d`` (None with fewer than 2 values)."""
    if len(d) < 2 or not band > 0:
        return None
    r2 = sum(x * x for x in d) / len(d)
    return min(Y_MAX_LOGPROB, r2 / (rho * band) ** 2)


def rms(d: list[float]) -> float:
    return math.sqrt(sum(x * x for x in d) / len(d)) if d else math.nan
