"""Sampled outputs, for endpoints that give no logprobs (or when logprobs left the question open).

* Greedy agreement (cheap first look, weak): temperature-0 continuations of short prompts from the
  endpoint and from the reference; the share whose first ``GREEDY_PREFIX`` reference tokens agree.
  Different numerics flip near-ties, so agreement below 1 proves nothing by itself; it is reported as
  weak evidence either way.
* Two-sample test (Gao et al. 2024, "Model Equality Testing: Which Model Is This API Serving?"): for a
  fixed set of prompts, ``SAMPLES`` completions at temperature 1 from the endpoint and from the
  reference, the MMD with a Hamming kernel on the first ``SAMPLE_TOKENS`` reference tokens, p-value by
  permuting labels within prompts (exact under H0 "same distribution", with no simulation model).
  It can only reject: "no difference detected" is reported with the queries spent, never as a match.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from harness.fingerprint.client import Client
from harness.fingerprint.evidence import WEAK_STRENGTH_CAP, Evidence, format_p
from harness.fingerprint.prompts import SAMPLING_PROMPTS
from harness.fingerprint.responses import parse_chat, parse_completion
from harness.fingerprint.statistics import mmd_permutation_test

GREEDY_PROMPTS = 8
GREEDY_TOKENS = 16
GREEDY_PREFIX = 8
MMD_PROMPTS = 8
SAMPLES = 8
SAMPLE_TOKENS = 12
PERMUTATIONS = 1000


def _ask(client: Client, prompt: str, chat: bool, body: dict) -> list[str]:
    if chat:
        data = client.post("/chat/completions", {"messages": [{"role": "user", "content": prompt}], **body})
        return [c.text for c in parse_chat(data).choices]
    data = client.post("/completions", {"prompt": prompt, **body})
    return [c.text for c in parse_completion(data).choices]


def _prompt_ids(ref, prompt: str, chat: bool) -> list[int]:
    return ref.chat_prompt_ids([{"role": "user", "content": prompt}]) if chat else ref.encode(prompt)


@dataclass
class GreedyRecord:
    endpoint: list[str] = field(default_factory=list)
    reference: list[str] = field(default_factory=list)


def run_greedy(client: Client, ref, *, chat: bool, budget_left) -> GreedyRecord:
    rec = GreedyRecord()
    for prompt in SAMPLING_PROMPTS[:GREEDY_PROMPTS]:
        if budget_left() <= 0:
            break
        rec.endpoint.append(_ask(client, prompt, chat, {"max_tokens": GREEDY_TOKENS, "temperature": 0})[0])
        gen = ref.generate(
            _prompt_ids(ref, prompt, chat), n=1, max_new_tokens=GREEDY_TOKENS, temperature=0, seed=0
        )
        rec.reference.append(ref.decode(gen[0]))
    return rec


def greedy_evidence(rec: GreedyRecord, ref, *, requests: int, tokens: int) -> Evidence:
    agree = 0
    for e, r in zip(rec.endpoint, rec.reference, strict=False):
        a, b = ref.encode_plain(e)[:GREEDY_PREFIX], ref.encode_plain(r)[:GREEDY_PREFIX]
        agree += a == b
    n = len(rec.endpoint)
    rate = agree / n if n else float("nan")
    if n and rate >= 0.75:
        supports, strength = "match", min(WEAK_STRENGTH_CAP, rate)
    elif n and rate <= 0.25:
        supports, strength = "mismatch", min(WEAK_STRENGTH_CAP, 1 - rate)
    else:
        supports, strength = "neutral", 0.0
    return Evidence(
        name="greedy_agreement",
        kind="weights",
        measured=f"greedy continuations of {n} prompts, first {GREEDY_PREFIX} tokens",
        statistic=f"{agree}/{n} agree with the reference's greedy continuation (weak: numerics flip near-ties)",
        supports=supports,  # type: ignore[arg-type]
        strength=strength,
        requests=requests,
        tokens=tokens,
        details={
            "agreement": rate,
            "endpoint": [e[:80] for e in rec.endpoint],
            "reference": [r[:80] for r in rec.reference],
        },
    )


@dataclass
class SampleRecord:
    endpoint: list[list[str]] = field(default_factory=list)
    reference: list[list[str]] = field(default_factory=list)
    n_supported: bool = True


def run_samples(client: Client, ref, *, chat: bool, seed: int, budget_left) -> SampleRecord:
    rec = SampleRecord()
    body = {"max_tokens": SAMPLE_TOKENS, "temperature": 1.0, "top_p": 1.0}
    for i, prompt in enumerate(SAMPLING_PROMPTS[:MMD_PROMPTS]):
        texts: list[str] = []
        attempt = 0
        while len(texts) < SAMPLES and budget_left() > 0:
            want = SAMPLES - len(texts)
            got = _ask(client, prompt, chat, body | {"n": want, "seed": seed * 1000 + i * 37 + attempt})
            rec.n_supported &= len(got) >= want
            texts += got[:want]
            attempt += 1
        if len(texts) < SAMPLES:
            break
        rec.endpoint.append(texts)
        gen = ref.generate(
            _prompt_ids(ref, prompt, chat),
            n=SAMPLES,
            max_new_tokens=SAMPLE_TOKENS,
            temperature=1.0,
            seed=seed + i,
        )
        rec.reference.append([ref.decode(g) for g in gen])
    return rec


def _tokens(ref, texts: list[str]) -> np.ndarray:
    arr = np.full((len(texts), SAMPLE_TOKENS), -1, dtype=np.int64)
    for j, t in enumerate(texts):
        ids = ref.encode_plain(t)[:SAMPLE_TOKENS]
        arr[j, : len(ids)] = ids
    return arr


def mmd_evidence(rec: SampleRecord, ref, *, alpha: float, seed: int, requests: int, tokens: int) -> Evidence:
    x = [_tokens(ref, t) for t in rec.endpoint]
    y = [_tokens(ref, t) for t in rec.reference]
    test = mmd_permutation_test(x, y, PERMUTATIONS, seed)
    reject = test.prompts > 0 and test.p_value < alpha
    return Evidence(
        name="two_sample_test",
        kind="weights",
        measured=(
            f"{test.samples_per_side} samples x {test.prompts} prompts at temperature 1 from each side "
            f"(first {SAMPLE_TOKENS} tokens)"
        ),
        statistic=(
            f"MMD² (Hamming kernel) {test.mmd2:.4f}, permutation {format_p(test.p_value)} "
            f"({test.permutations} permutations)"
            + ("" if reject else "; no difference detected at this sample size (not evidence of equality)")
        ),
        supports="mismatch" if reject else "neutral",
        strength=(1 - test.p_value) if reject else 0.0,
        requests=requests,
        tokens=tokens,
        p_value=test.p_value if test.prompts else None,
        decisive=bool(reject),
        details={"mmd2": test.mmd2, "prompts": test.prompts, "n_parameter_honoured": rec.n_supported},
    )
