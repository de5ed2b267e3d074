"""``tokenizer_cuts``: where ``max_tokens`` cuts a reply shows the serving tokenizer's boundaries.

We ask the model (greedy) to repeat a string that tokenizers split differently, once with a long budget
(``FULL_MAX_TOKENS``) and once each with ``max_tokens=k``. A reply cut for length is the decoding of
the first k tokens of the *serving* tokenizer. Tokenised by the reference, the long reply has a k-th
token boundary; the cut ends there when the tokenizers are the same and the model wrote the canonical
tokenisation, or *before* it when the model wrote a finer split (k finer tokens cover less text). A cut
*beyond* it means the server fitted more text into k tokens than the reference tokenizer can: another
tokenizer. Needs neither logprobs nor usage, so it also works through relays that strip both.

H0 "same tokenizer": a cut lands beyond the boundary with probability at most ``QUIRK_RATE`` (a
byte-pair merge order that is not length-optimal, a server that re-normalises whitespace), so
``Y = X / QUIRK_RATE``. Replies with U+FFFD (bytes replaced) are skipped.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.fingerprint.client import Client
from harness.fingerprint.evalues import bernoulli_ys, betting_eprocess
from harness.fingerprint.probes.common import complete

QUIRK_RATE = 0.1
FULL_MAX_TOKENS = 12
CUTS: tuple[int, ...] = (4, 7)


def completion_prompt(text: str) -> str:
    return f"Text: {text}\nThe same text again: {text}\nText: {text}\nThe same text again:"


def chat_prompt(text: str) -> str:
    return f"Repeat the following text exactly, and output nothing else:\n\n{text}"


@dataclass
class Cut:
    text: str
    k: int
    reply: str
    finish_reason: str | None


def request(client: Client, text: str, k: int, chat: bool) -> Cut:
    prompt = chat_prompt(text) if chat else completion_prompt(text)
    c = complete(client, prompt, chat=chat, max_tokens=k, temperature=0).choices[0]
    return Cut(text, k, c.text, c.finish_reason)


def cut_position(full: str, cut: Cut, ref) -> str | None:
    """ "at", "before" or "beyond" the reference's k-th boundary of ``full``; None when not comparable."""
    if cut.finish_reason != "length" or not cut.reply or "\ufffd" in full:
        return None
    ids = ref.encode_plain(full)
    if len(ids) < cut.k:
        return None
    expected = ref.tokenizer.decode(ids[: cut.k], skip_special_tokens=True)
    reply = cut.reply
    if not full.startswith(reply):  # whitespace normalised by the server: compare stripped
        reply, expected = reply.strip(), expected.strip()
    return "at" if reply == expected else "beyond" if len(reply) > len(expected) else "before"


def analyse(cuts: list[Cut], ref):
    full = {c.text: c.reply for c in cuts if c.k == FULL_MAX_TOKENS}
    rows = []
    for c in cuts:
        if c.k == FULL_MAX_TOKENS or c.text not in full:
            continue
        where = cut_position(full[c.text], c, ref)
        if where is not None:
            rows.append({"k": c.k, "cut": where, "reply": c.reply[:60]})
    ys = bernoulli_ys([r["cut"] == "beyond" for r in rows], QUIRK_RATE)
    return ys, betting_eprocess(ys), rows
