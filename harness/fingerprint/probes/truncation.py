"""Output tokenisation: where ``max_tokens`` cuts a reply shows the serving tokenizer's boundaries.

We ask the model (greedy) to repeat strings that different tokenizers split differently, once with a
long budget (``FULL_MAX_TOKENS``) and once each with ``max_tokens=k``. A reply cut for length is the
decoding of exactly the first k tokens *of the serving tokenizer*; with the same tokenizer it equals the
first k reference tokens of the long reply, decoded (whatever the model wrote, even nonsense), and with a
different tokenizer the cut almost never falls there. Comparing with the long reply's tokenisation, not
re-encoding the cut text alone, avoids a false alarm when k ends inside a word (a word's prefix can
tokenise differently from the word). It needs no logprobs and no usage field, so it also works through
relays that strip both.

H0 "same tokenizer": every cut falls on the reference boundary, except with a ``QUIRK_RATE`` chance (a
model may emit a non-canonical split, or a server may drop a trailing partial UTF-8 character).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from harness.fingerprint.client import Client
from harness.fingerprint.evidence import Evidence, format_p
from harness.fingerprint.prompts import TRUNCATION_MAX_TOKENS, TRUNCATION_TEXTS
from harness.fingerprint.responses import parse_chat, parse_completion
from harness.fingerprint.statistics import binomial_tail

QUIRK_RATE = 0.1
FULL_MAX_TOKENS = 12


def completion_prompt(text: str) -> str:
    return f"Text: {text}\nThe same text again: {text}\nText: {text}\nThe same text again:"


def chat_prompt(text: str) -> str:
    return f"Repeat the following text exactly, and output nothing else:\n\n{text}"


@dataclass
class Cut:
    text_index: int
    k: int
    reply: str
    finish_reason: str | None
    completion_tokens: int | None


@dataclass
class TruncationResult:
    cuts: list[Cut] = field(default_factory=list)


def request(client: Client, text_index: int, k: int, chat: bool) -> Cut:
    text = TRUNCATION_TEXTS[text_index]
    if chat:
        data = client.post(
            "/chat/completions",
            {"messages": [{"role": "user", "content": chat_prompt(text)}], "max_tokens": k, "temperature": 0},
        )
        resp = parse_chat(data)
    else:
        data = client.post(
            "/completions", {"prompt": completion_prompt(text), "max_tokens": k, "temperature": 0}
        )
        resp = parse_completion(data)
    c = resp.choices[0]
    return Cut(text_index, k, c.text, c.finish_reason, resp.completion_tokens)


def run(client: Client, *, chat: bool) -> TruncationResult:
    result = TruncationResult()
    for i in range(len(TRUNCATION_TEXTS)):
        for k in (FULL_MAX_TOKENS, *TRUNCATION_MAX_TOKENS):
            result.cuts.append(request(client, i, k, chat))
    return result


def analyse(result: TruncationResult, ref, *, alpha: float, requests: int, tokens: int) -> Evidence:
    full = {c.text_index: c.reply for c in result.cuts if c.k == FULL_MAX_TOKENS}
    rows = []
    for c in result.cuts:
        if c.k == FULL_MAX_TOKENS or c.finish_reason != "length" or not c.reply or c.text_index not in full:
            continue
        ids = ref.encode_plain(full[c.text_index])
        if len(ids) < c.k:
            continue
        expected = ref.tokenizer.decode(ids[: c.k], skip_special_tokens=True)
        same = c.reply == expected or c.reply.strip() == expected.strip()
        rows.append(
            {
                "text": c.text_index,
                "k": c.k,
                "same_cut": same,
                "reply": c.reply[:60],
                "expected": expected[:60],
            }
        )
    differ = [r for r in rows if not r["same_cut"]]
    n = len(rows)
    if n == 0:
        return Evidence(
            name="truncation_probe",
            kind="tokenizer",
            measured=f"{len(result.cuts)} replies with max_tokens cuts; none could be compared",
            statistic="no test",
            supports="neutral",
            strength=0.0,
            requests=requests,
            tokens=tokens,
        )
    p = binomial_tail(len(differ), n, QUIRK_RATE)
    supports = "mismatch" if p < alpha else "match" if not differ else "neutral"
    return Evidence(
        name="truncation_probe",
        kind="tokenizer",
        measured=(
            f"{n} replies cut by max_tokens (k in {list(TRUNCATION_MAX_TOKENS)}) vs the reference "
            f"tokenisation of the same reply at max_tokens={FULL_MAX_TOKENS}"
        ),
        statistic=(
            f"{n - len(differ)}/{n} cuts fall on the reference's k-th token boundary; {format_p(p)} under "
            f"same-tokenizer with a {QUIRK_RATE:.0%} quirk allowance"
        ),
        supports=supports,  # type: ignore[arg-type]
        strength=(1 - p) if supports == "mismatch" else (n - len(differ)) / n,
        requests=requests,
        tokens=tokens,
        p_value=p,
        decisive=supports == "mismatch",
        details={"disagreements": differ[:8]},
    )
