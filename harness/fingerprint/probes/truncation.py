"""Output tokenisation: where ``max_tokens`` cuts a reply shows the serving tokenizer's boundaries.

We ask the model (greedy) to repeat strings that different tokenizers split differently, once with a
long budget (``FULL_MAX_TOKENS``) and once each with ``max_tokens=k``. A reply cut for length is the
decoding of exactly the first k tokens *of the serving tokenizer*. Tokenised by the reference, the long
reply has a k-th token boundary; the cut must end there when the tokenizers are the same and the model
wrote the canonical tokenisation (as trained models do), or *before* it when the model wrote a finer,
non-canonical split (as random models do): k finer tokens cover less text. A cut that ends *beyond*
the reference's k-th boundary means the server fitted more text into k tokens than the reference
tokenizer can: a different tokenizer with longer tokens (a smaller-vocabulary one shows as "before"
and is left to the token-count probe). Comparing with the long reply's tokenisation, not re-encoding
the cut text alone, avoids a false alarm when k ends inside a word (a word's prefix can tokenise
differently from the word). It needs no logprobs and no usage field, so it also works through relays
that strip both.

Replies containing U+FFFD (the server replaced bytes that are not valid UTF-8) are skipped: their text
no longer shows where the tokens were.

H0 "same tokenizer": no cut ends beyond the reference boundary, except with a ``QUIRK_RATE`` chance (a
byte-pair merge order that is not length-optimal, or a server that re-normalises whitespace).
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
        if "\ufffd" in full[c.text_index]:
            continue  # bytes that are not UTF-8 were replaced: the text no longer shows the tokens
        ids = ref.encode_plain(full[c.text_index])
        if len(ids) < c.k:
            continue
        expected = ref.tokenizer.decode(ids[: c.k], skip_special_tokens=True)
        reply = c.reply
        if not full[c.text_index].startswith(reply):  # whitespace normalised by the server: compare stripped
            reply, expected = reply.strip(), expected.strip()
        where = "at" if reply == expected else "beyond" if len(reply) > len(expected) else "before"
        rows.append(
            {"text": c.text_index, "k": c.k, "cut": where, "reply": c.reply[:60], "expected": expected[:60]}
        )
    differ = [r for r in rows if r["cut"] == "beyond"]
    before = sum(r["cut"] == "before" for r in rows)
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
    supports = "mismatch" if p < alpha else "match" if not differ and not before else "neutral"
    return Evidence(
        name="truncation_probe",
        kind="tokenizer",
        measured=(
            f"{n} replies cut by max_tokens (k in {list(TRUNCATION_MAX_TOKENS)}) vs the reference "
            f"tokenisation of the same reply at max_tokens={FULL_MAX_TOKENS}"
        ),
        statistic=(
            f"{n - len(differ) - before}/{n} cuts fall on the reference's k-th token boundary, {before} before it, "
            f"{len(differ)} beyond it; {format_p(p)} under same-tokenizer with a {QUIRK_RATE:.0%} quirk allowance"
        ),
        supports=supports,  # type: ignore[arg-type]
        strength=(1 - p) if supports == "mismatch" else (n - len(differ) - before) / n,
        requests=requests,
        tokens=tokens,
        p_value=p,
        decisive=supports == "mismatch",
        details={"beyond": differ[:8], "before": before},
    )
