"""Token accounting: the endpoint's ``usage.prompt_tokens`` against the reference tokenizer's counts.

Each crafted string is appended to one base prompt, and we compare *differences* to the base, so a chat
template's or a BOS token's constant overhead cancels: under the reference tokenizer, the difference is
exactly the number of tokens the string adds in context. The strings split very differently under
different tokenizers (digit runs, rare words, code indentation, runs of spaces, scripts, emoji).

H0 "same tokenizer": every difference matches. Independent implementations of one tokenizer (Rust
``tokenizers``, llama.cpp) can still disagree on an exotic string, so the test allows each string a
``QUIRK_RATE`` chance of disagreeing and reports P(at least this many disagreements) under it.
The constant offset between the endpoint's and the reference's count of the base prompt is reported
too: in chat mode a positive offset means a longer template, typically a hidden system prompt.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from harness.fingerprint.client import Client
from harness.fingerprint.evidence import WEAK_STRENGTH_CAP, Evidence, format_p
from harness.fingerprint.prompts import TOKEN_COUNT_BASE, TOKEN_COUNT_STRINGS
from harness.fingerprint.responses import parse_chat, parse_completion
from harness.fingerprint.statistics import binomial_tail

QUIRK_RATE = 0.05
HIDDEN_PROMPT_MIN_TOKENS = 3


def probe_texts() -> list[str]:
    return [TOKEN_COUNT_BASE] + [TOKEN_COUNT_BASE + s for s in TOKEN_COUNT_STRINGS]


def request(client: Client, text: str, chat: bool) -> int | None:
    """The endpoint's prompt token count for ``text`` (None when it reports no usage)."""
    if chat:
        data = client.post(
            "/chat/completions",
            {"messages": [{"role": "user", "content": text}], "max_tokens": 1, "temperature": 0},
        )
        return parse_chat(data).prompt_tokens
    data = client.post("/completions", {"prompt": text, "max_tokens": 1, "temperature": 0})
    return parse_completion(data).prompt_tokens


def reference_counts(ref, chat: bool) -> list[int]:
    if chat:
        return [len(ref.chat_prompt_ids([{"role": "user", "content": t}])) for t in probe_texts()]
    return [len(ref.encode(t)) for t in probe_texts()]


@dataclass
class TokenCountResult:
    endpoint: list[int | None]
    reference: list[int]
    chat: bool


def analyse(r: TokenCountResult, *, alpha: float, requests: int, tokens: int) -> list[Evidence]:
    """Evidence rows: the tokenizer comparison, and (chat) a template-overhead tell."""
    if r.endpoint[0] is None or sum(c is not None for c in r.endpoint[1:]) == 0:
        return [
            Evidence(
                name="token_count_probe",
                kind="tokenizer",
                measured="usage.prompt_tokens was not reported",
                statistic="no test",
                supports="neutral",
                strength=0.0,
                requests=requests,
                tokens=tokens,
            )
        ]
    base_e, base_r = r.endpoint[0], r.reference[0]
    rows = []
    for i, (e, ref) in enumerate(zip(r.endpoint[1:], r.reference[1:], strict=True)):
        if e is None:
            continue
        rows.append({"string": i, "endpoint": e - base_e, "reference": ref - base_r})
    n = len(rows)
    differ = [row for row in rows if row["endpoint"] != row["reference"]]
    p = binomial_tail(len(differ), n, QUIRK_RATE)
    supports = "mismatch" if p < alpha else "match" if not differ else "neutral"
    evidence = [
        Evidence(
            name="token_count_probe",
            kind="tokenizer",
            measured=(
                f"prompt_tokens of {n} crafted strings (digits, rare words, code, scripts, emoji, repeats), "
                "differenced against a base prompt"
            ),
            statistic=(
                f"{n - len(differ)}/{n} token-count differences equal the reference tokenizer's; "
                f"{format_p(p)} under same-tokenizer with a {QUIRK_RATE:.0%} per-string quirk allowance"
            ),
            supports=supports,  # type: ignore[arg-type]
            strength=(1 - p) if supports == "mismatch" else (n - len(differ)) / n if n else 0.0,
            requests=requests,
            tokens=tokens,
            p_value=p,
            decisive=supports == "mismatch",
            details={"disagreements": differ[:10], "base_offset": base_e - base_r, "chat": r.chat},
        )
    ]
    offset = base_e - base_r
    if r.chat and offset >= HIDDEN_PROMPT_MIN_TOKENS and supports != "mismatch":
        evidence.append(
            Evidence(
                name="hidden_prompt_tell",
                kind="proxy",
                measured=(
                    f"the endpoint counts {base_e} prompt tokens for a chat message the reference template "
                    f"makes {base_r} tokens"
                ),
                statistic=f"{offset} extra tokens on every chat request: a different template or a hidden system prompt",
                supports="mismatch",
                strength=WEAK_STRENGTH_CAP,
                requests=0,
                tokens=0,
                details={"extra_tokens": offset},
            )
        )
    return evidence


def run(client: Client, ref, *, chat: bool) -> TokenCountResult:
    counts: list[Any] = [request(client, t, chat) for t in probe_texts()]
    return TokenCountResult(counts, reference_counts(ref, chat), chat)
