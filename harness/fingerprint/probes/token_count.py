"""``tokenizer_counts``: the endpoint's ``usage.prompt_tokens`` against the reference tokenizer's counts.

Each string is appended to one base prompt and we compare *differences* to the base, so a chat
template's or a BOS token's constant overhead cancels: under the reference tokenizer the difference is
exactly the number of tokens the string adds in context. The strings (drawn from the pool) split very
differently under different tokenizers: digit runs, rare words, code indentation, runs of spaces,
scripts, emoji, long repeats.

H0 "same tokenizer": independent implementations of one tokenizer (Rust ``tokenizers``, llama.cpp) can
still disagree on an exotic string, so each string may disagree with probability at most ``QUIRK_RATE``
(Bernoulli e-process, ``Y = X / QUIRK_RATE``). In chat mode the constant offset of the base prompt is
reported too: a positive one means a longer template, typically a hidden system prompt (information
only: a different template is not different weights).
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.fingerprint.client import Client
from harness.fingerprint.evalues import bernoulli_ys, betting_eprocess
from harness.fingerprint.pool import COUNT_BASE
from harness.fingerprint.probes.common import complete

QUIRK_RATE = 0.05
HIDDEN_PROMPT_MIN_TOKENS = 3


def request(client: Client, text: str, chat: bool) -> int | None:
    """The endpoint's prompt token count for ``text`` (None when it reports no usage)."""
    return complete(client, text, chat=chat, max_tokens=1, temperature=0).prompt_tokens


def reference_count(ref, text: str, chat: bool) -> int:
    return len(ref.prompt_ids(text, chat))


@dataclass
class CountObservation:
    string: str
    endpoint: int | None  # endpoint count of base + string, minus its count of the base
    reference: int


def observe(base_endpoint: int | None, base_reference: int, string: str, count: int | None, ref, chat: bool):
    e = None if count is None or base_endpoint is None else count - base_endpoint
    return CountObservation(string, e, reference_count(ref, COUNT_BASE + string, chat) - base_reference)


def analyse(obs: list[CountObservation]):
    """(ys, e-process, disagreements) over the observations that had usage."""
    used = [o for o in obs if o.endpoint is not None]
    differ = [o for o in used if o.endpoint != o.reference]
    ys = bernoulli_ys([o.endpoint != o.reference for o in used], QUIRK_RATE)
    return ys, betting_eprocess(ys), differ
