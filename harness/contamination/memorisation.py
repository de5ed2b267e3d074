"""Memorisation tests: does the model find the published text more likely than its twins, can it
finish a test question it was only shown the start of, does it prefer a test set's published order?

* **Likelihood ratio**: per item, log p(original) minus the mean log p of its twins (the same item
  with fresh numbers or reordered options). A model that trained on the item has raised the
  probability of exactly its published form.
* **Min-K%++** (Zhang et al. 2024): the mean of the lowest 20% of token scores (log p - mu) / sigma,
  where mu and sigma are the mean and spread of log p under the model's own next-token distribution.
  A membership signal for pretraining data; on benchmark items it is weak (the paper reports AUROC
  well below 1 on paraphrase-level differences), so it is reported but does not decide a verdict.
* **Completion** (the "guided completion" of Golchin & Surdeanu 2024, without the guiding
  instruction): the first half of the question is given as a prompt and greedy decoding asked for the
  rest; exact and fuzzy (rapidfuzz ``ratio``) match rates against the true rest.
* **Option order**: with multiple-choice twins (options reordered), the likelihood ratio *is* the
  option-order test: is the published order of an item's options more likely than reorderings?
* **Test-set order** (Oren et al. 2023): contiguous shards of the published test set, concatenated in
  published order versus shuffled orders; exchangeability makes any preference for the published
  order evidence that the model saw the test set as a document.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np
from rapidfuzz import fuzz

from harness.contamination.probes import ModelProbe
from harness.contamination.statistics import shard_order_test

MIN_QUESTION_WORDS = 12  # shorter questions leave too little to complete
COMPLETION_SLACK_TOKENS = 16


@dataclass(frozen=True)
class CompletionSplit:
    prefix: str
    rest: str


def split_for_completion(text: str, fraction: float = 0.5) -> CompletionSplit | None:
    """The first ``fraction`` of a text's words as a prompt, the rest as the target (None: too short).

    The split falls on a word boundary and the prompt keeps its trailing space out, so the model
    writes the space itself, as in the published text.
    """
    words = list(re.finditer(r"\S+", text))
    if len(words) < MIN_QUESTION_WORDS:
        return None
    cut = words[max(1, int(len(words) * fraction)) - 1].end()
    return CompletionSplit(prefix=text[:cut], rest=text[cut:])


def _norm(text: str) -> str:
    return " ".join(text.split())


def completion_match(generated: str, rest: str) -> tuple[bool, float]:
    """(exact, fuzzy): whether the generation reproduces the rest word for word (whitespace
    normalised), and rapidfuzz's ratio (0..1) between the rest and the generation cut to its length."""
    want, got = _norm(rest), _norm(generated)
    exact = bool(want) and got.startswith(want)
    fuzzy = fuzz.ratio(want, got[: len(want)]) / 100.0 if want else 0.0
    return exact, float(fuzzy)


def likelihood_matrix(probe: ModelProbe, texts: list[list[str]], with_tokens: bool) -> dict[str, np.ndarray]:
    """Per item (row) and version (column): log-likelihood, and Min-K%++ when the backend allows.

    ``texts[i][v]`` is version v of item i (v = 0 the original). One call per stream, so backends
    batch all texts together.
    """
    flat = [t for row in texts for t in row]
    n, v = len(texts), len(texts[0]) if texts else 0
    out: dict[str, np.ndarray] = {}
    if with_tokens and probe.can_score_tokens:
        scores = probe.token_scores(flat)
        out["loglikelihood"] = np.array([s.loglikelihood for s in scores]).reshape(n, v)
        out["min_k_plus_plus"] = np.array([s.min_k_plus_plus for s in scores]).reshape(n, v)
        out["tokens"] = np.array([s.tokens for s in scores]).reshape(n, v)
    else:
        out["loglikelihood"] = np.array(probe.loglikelihoods(flat)).reshape(n, v)
    return out


def completion_matrix(
    probe: ModelProbe, questions: list[list[str]], count_tokens: Any = None
) -> tuple[np.ndarray, np.ndarray, list[dict[str, Any]]]:
    """Greedy completions of every version's question: (exact (n, v), fuzzy (n, v), examples).

    Items too short to split get NaN rows (left out of the tests). ``count_tokens`` (text -> int), when
    given, sizes the generation budget; otherwise a generous word-based bound is used.
    """
    n, v = len(questions), len(questions[0]) if questions else 0
    exact = np.full((n, v), np.nan)
    fuzzy = np.full((n, v), np.nan)
    prompts, where, rests = [], [], []
    for i, row in enumerate(questions):
        splits = [split_for_completion(q) for q in row]
        if any(s is None for s in splits):
            continue
        for j, s in enumerate(splits):
            assert s is not None
            prompts.append(s.prefix)
            rests.append(s.rest)
            where.append((i, j))
    if not prompts:
        return exact, fuzzy, []
    longest = max((count_tokens(r) if count_tokens else 2 * len(r.split()) + 4) for r in rests)
    generations = probe.complete(prompts, longest + COMPLETION_SLACK_TOKENS)
    examples = []
    for (i, j), rest, gen, prompt in zip(where, rests, generations, prompts, strict=True):
        e, f = completion_match(gen, rest)
        exact[i, j] = float(e)
        fuzzy[i, j] = f
        if j == 0:
            examples.append(
                {
                    "row": i,
                    "prompt": prompt,
                    "expected": rest,
                    "generated": gen,
                    "exact": e,
                    "fuzzy": round(f, 4),
                }
            )
    return exact, fuzzy, examples


def order_test(
    probe: ModelProbe,
    texts: list[str],
    *,
    shard_size: int,
    shards: int,
    shuffles: int,
    rng: np.random.Generator,
) -> dict[str, Any]:
    """Oren et al.'s sharded comparison on ``texts`` (the test set's items in published order).

    ``shards`` runs of ``shard_size`` consecutive items start at a random offset; each run is scored
    joined in published order and in ``shuffles`` random orders (items separated by a blank line)."""
    needed = shard_size * shards
    if len(texts) < needed or shard_size < 2:
        return {"ran": False, "reason": f"needs {needed} items in published order, has {len(texts)}"}
    start = int(rng.integers(0, len(texts) - needed + 1))
    canon_texts, shuffled_texts = [], []
    for s in range(shards):
        block = texts[start + s * shard_size : start + (s + 1) * shard_size]
        canon_texts.append("\n\n".join(block))
        for _ in range(shuffles):
            order = rng.permutation(shard_size)
            while np.all(order == np.arange(shard_size)):
                order = rng.permutation(shard_size)
            shuffled_texts.append("\n\n".join(block[i] for i in order))
    scores = probe.loglikelihoods(canon_texts + shuffled_texts)
    canonical = np.array(scores[:shards])
    shuffled = np.array(scores[shards:]).reshape(shards, shuffles)
    result = shard_order_test(canonical, shuffled, seed=int(rng.integers(0, 2**31)))
    return {"ran": True, "first_row": start, "shard_size": shard_size, **result}
