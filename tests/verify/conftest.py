"""Fixtures for verify tests: a tiny random-weight Llama with its own tokenizer, built offline."""

from __future__ import annotations

from pathlib import Path

import pytest


def build_tiny_llama(out_dir: Path, seed: int = 0) -> Path:
    """A 2-layer Llama with random weights (seeded) and a 1024-token byte-level BPE tokenizer trained on
    GSM8K's train split (bundled, offline; byte-level, so it encodes any benchmark text), ChatML template.
    Random weights give chance-level, but fully deterministic, scores; the small vocabulary keeps the
    output layer (the costly part of a tiny model on long MMLU prompts) cheap."""
    from harness.data import load_benchmark
    from harness.testing.variants import tiny_llama

    texts = [row["question"] + "\n" + row["answer"] for row in load_benchmark("gsm8k", "train").rows]
    return tiny_llama(out_dir, texts=texts, seed=seed, max_position_embeddings=8192)


@pytest.fixture(scope="session")
def tiny_llama_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_llama(tmp_path_factory.mktemp("tiny-llama"))
