"""The family of tests and their weights, fixed at discovery, before any probe is sent.

The weights depend only on what the endpoint's API offers and on what the reference can compute,
never on a test result, so the weighted Bonferroni bound ``sum_k w_k alpha = alpha`` holds conditionally
on them (docs/fingerprint.md, "Combining the tests").
"""

from __future__ import annotations

from dataclasses import dataclass

BASE_WEIGHTS: dict[str, float] = {
    "tokenizer_counts": 0.10,
    "tokenizer_cuts": 0.05,
    "echo_text": 0.10,
    "output_filter": 0.15,
    "greedy_tokens": 0.30,
    "token_logprobs": 0.30,
}
KINDS: dict[str, str] = {
    "tokenizer_counts": "tokenizer",
    "tokenizer_cuts": "tokenizer",
    "echo_text": "relay",
    "output_filter": "relay",
    "greedy_tokens": "weights",
    "token_logprobs": "weights",
}


@dataclass(frozen=True)
class ApiCapabilities:
    """What discovery found, reduced to what the family depends on."""

    mode: str  # "completions" | "chat"
    usage: bool  # prompt_tokens reported
    echo: bool  # /completions echoes the prompt (text)
    echo_logprobs: bool  # ... with per-token logprobs (top-k or token only)
    generated_logprobs: bool  # logprobs of generated tokens (completions or chat)
    text: bool = True  # generated text comes back (always, for a working endpoint)


def plan_family(caps: ApiCapabilities, *, reference_generates: bool) -> dict[str, float]:
    """Test name -> weight (summing to 1) for this API and reference; unsupported tests are left out."""
    available = {
        "tokenizer_counts": caps.usage,
        "tokenizer_cuts": caps.text,
        "echo_text": caps.echo,
        "output_filter": caps.text and reference_generates,
        "greedy_tokens": caps.text and reference_generates,
        "token_logprobs": reference_generates and (caps.echo_logprobs or caps.generated_logprobs),
    }
    chosen = {k: w for k, w in BASE_WEIGHTS.items() if available[k]}
    total = sum(chosen.values())
    if total <= 0:
        return {}
    return {k: w / total for k, w in chosen.items()}
