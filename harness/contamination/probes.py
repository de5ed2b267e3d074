"""What the memorisation tests ask of a model: text log-likelihoods, token statistics, greedy completions.

One small interface (``ModelProbe``) over lm-eval's model objects, so the same tests run on every
backend lm-eval has: ``loglikelihood_rolling`` (hf, vllm, openai-completions with a tokenizer) and
``generate_until`` (all, openai-chat included). Min-K%++ (Zhang et al. 2024) needs the whole next-token
distribution at every position, which only local weights give: on ``hf`` one forward pass per text
yields the token log-probabilities, their sum (the text's log-likelihood, as lm-eval's rolling
log-likelihood computes it: the first token is scored after lm-eval's prefix token) and the
distribution's mean and variance; on other backends Min-K%++ is reported as unavailable.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np


@dataclass(frozen=True)
class TokenScores:
    """Per-text token statistics: sum of token log-probabilities, token count, Min-K% and Min-K%++."""

    loglikelihood: float
    tokens: int
    min_k: float  # mean of the lowest k% token log-probabilities (Shi et al. 2024)
    min_k_plus_plus: float  # mean of the lowest k% of (log p - mu) / sigma (Zhang et al. 2024)


class ModelProbe(Protocol):
    """The model side of the memorisation tests (tests inject fakes with the same methods)."""

    name: str
    can_score_text: bool  # log-likelihoods available
    can_score_tokens: bool  # Min-K%++ available

    def loglikelihoods(self, texts: list[str]) -> list[float]: ...

    def token_scores(self, texts: list[str], k: float = 0.2) -> list[TokenScores]: ...

    def complete(self, prompts: list[str], max_tokens: int) -> list[str]: ...


def min_k_scores(
    token_logprobs: np.ndarray, mu: np.ndarray, sigma: np.ndarray, k: float
) -> tuple[float, float]:
    """Min-K% and Min-K%++ of one text from its per-token statistics (higher: more likely seen)."""
    lp = np.asarray(token_logprobs, dtype=float)
    if len(lp) == 0:
        return float("nan"), float("nan")
    count = max(1, int(len(lp) * k))
    plus = (lp - np.asarray(mu)) / np.sqrt(np.maximum(np.asarray(sigma), 1e-12))
    return float(np.sort(lp)[:count].mean()), float(np.sort(plus)[:count].mean())


class LmEvalProbe:
    """A ``ModelProbe`` over an lm-eval model object (built by harness.models.backends)."""

    def __init__(
        self, lm: Any, *, backend: str, loglikelihood: bool, chat: bool = False, batch_size: int = 8
    ) -> None:
        self.lm = lm
        self.name = backend
        self.chat = chat  # requests go out as chat messages (openai-chat)
        self.can_score_text = loglikelihood
        self.can_score_tokens = backend == "hf" and hasattr(lm, "model") and hasattr(lm, "tokenizer")
        self.batch_size = batch_size

    def loglikelihoods(self, texts: list[str]) -> list[float]:
        if not self.can_score_text:
            raise RuntimeError(f"backend {self.name} returns no log-likelihoods")
        if self.can_score_tokens:
            return [s.loglikelihood for s in self.token_scores(texts)]
        from lm_eval.api.instance import Instance

        requests = [Instance("loglikelihood_rolling", {}, (t,), i) for i, t in enumerate(texts)]
        return [float(x) for x in self.lm.loglikelihood_rolling(requests, disable_tqdm=True)]

    def token_scores(self, texts: list[str], k: float = 0.2) -> list[TokenScores]:
        if not self.can_score_tokens:
            raise RuntimeError(f"backend {self.name} gives no next-token distributions (Min-K%++)")
        import torch

        model, tok = self.lm.model, self.lm.tokenizer
        prefix = self.lm.prefix_token_id
        max_len = int(getattr(self.lm, "max_length", 2048))
        out: list[TokenScores] = []
        encoded = [[prefix, *self.lm.tok_encode(t, add_special_tokens=False)][:max_len] for t in texts]
        order = sorted(range(len(texts)), key=lambda i: -len(encoded[i]))
        results: dict[int, TokenScores] = {}
        pad = tok.pad_token_id if tok.pad_token_id is not None else 0
        for start in range(0, len(order), self.batch_size):
            batch = [encoded[i] for i in order[start : start + self.batch_size]]
            width = max(len(b) for b in batch)
            ids = torch.full((len(batch), width), pad, dtype=torch.long)
            mask = torch.zeros((len(batch), width), dtype=torch.long)
            for r, b in enumerate(batch):
                ids[r, : len(b)] = torch.tensor(b)
                mask[r, : len(b)] = 1
            with torch.no_grad():
                logits = model(input_ids=ids.to(model.device), attention_mask=mask.to(model.device)).logits
                logp = torch.log_softmax(logits.float(), dim=-1)
            for r, b in enumerate(batch):
                n = len(b) - 1
                lp_all = logp[r, :n]
                target = ids[r, 1 : n + 1].to(lp_all.device)
                token_lp = lp_all.gather(-1, target.unsqueeze(-1)).squeeze(-1)
                probs = lp_all.exp()
                mu = (probs * lp_all).sum(-1)
                sigma = (probs * lp_all.square()).sum(-1) - mu.square()
                mk, mkpp = min_k_scores(token_lp.cpu().numpy(), mu.cpu().numpy(), sigma.cpu().numpy(), k)
                results[order[start + r]] = TokenScores(float(token_lp.sum()), n, mk, mkpp)
        out = [results[i] for i in range(len(texts))]
        return out

    def complete(self, prompts: list[str], max_tokens: int) -> list[str]:
        from lm_eval.api.instance import Instance

        kwargs = {"until": ["\n"], "max_gen_toks": max_tokens, "do_sample": False, "temperature": 0.0}
        contexts: list[Any] = list(prompts)
        if self.chat:  # a chat endpoint takes messages: the prefix is the user's whole message
            from lm_eval.models.api_models import JsonChatStr

            contexts = [JsonChatStr(json.dumps([{"role": "user", "content": p}])) for p in prompts]
        requests = [Instance("generate_until", {}, (c, dict(kwargs)), i) for i, c in enumerate(contexts)]
        return [str(x) for x in self.lm.generate_until(requests, disable_tqdm=True)]
