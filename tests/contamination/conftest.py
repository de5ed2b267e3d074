"""A fake model for the contamination pipeline: deterministic scores, with chosen items 'memorised'."""

from __future__ import annotations

import hashlib

import pytest

from harness.contamination.probes import TokenScores


class MemorisingProbe:
    """Log-likelihoods from a text's length plus a fixed pseudo-random part; texts in ``seen`` (or
    containing one of them) score ``boost`` nats higher, and their second halves complete verbatim."""

    name = "fake"
    can_score_text = True
    can_score_tokens = False

    def __init__(
        self, seen: list[str] | None = None, boost: float = 40.0, seen_questions: list[str] | None = None
    ):
        self.seen = list(seen or [])
        self.boost = boost
        self.questions = list(seen_questions or [])
        self.calls = {"loglikelihoods": 0, "complete": 0}

    def _noise(self, text: str) -> float:
        return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "little") / 2**32 * 4 - 2

    def loglikelihoods(self, texts: list[str]) -> list[float]:
        self.calls["loglikelihoods"] += 1
        out = []
        for t in texts:
            value = -0.6 * len(t.split()) + self._noise(t)
            value += self.boost * sum(1 for s in self.seen if s in t)
            out.append(value)
        return out

    def token_scores(self, texts: list[str], k: float = 0.2) -> list[TokenScores]:
        raise RuntimeError("no token scores")

    def complete(self, prompts: list[str], max_tokens: int) -> list[str]:
        self.calls["complete"] += 1
        out = []
        for p in prompts:
            match = next((q for q in self.questions if q.startswith(p)), None)
            out.append(match[len(p) :] if match else " and then something else entirely happens here.")
        return out


@pytest.fixture
def memorising_probe():
    return MemorisingProbe
