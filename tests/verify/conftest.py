"""Fixtures for verify tests: a tiny random-weight Llama with its own tokenizer, built offline."""

from __future__ import annotations

from pathlib import Path

import pytest

CHAT_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def train_tokenizer(vocab_size: int = 1024):
    """A byte-level BPE tokenizer trained with `tokenizers` on GSM8K's train split (bundled, offline),
    with ChatML special tokens and a chat template. Byte-level, so it encodes any benchmark text."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    from harness.data import load_benchmark

    texts = [row["question"] + "\n" + row["answer"] for row in load_benchmark("gsm8k", "train").rows]
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(texts, trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token="<|im_start|>", eos_token="<|im_end|>", pad_token="<|endoftext|>"
    )
    fast.chat_template = CHAT_TEMPLATE
    return fast


def build_tiny_llama(out_dir: Path, seed: int = 0) -> Path:
    """A 2-layer Llama with random weights (seeded) and a 1024-token tokenizer, via save_pretrained.
    Random weights give chance-level, but fully deterministic, scores; the small vocabulary keeps the
    output layer (the costly part of a tiny model on long MMLU prompts) cheap."""
    from harness.models.variants import tiny_llama

    return tiny_llama(out_dir, texts=[], seed=seed, max_position_embeddings=8192, tokenizer=train_tokenizer())


@pytest.fixture(scope="session")
def tiny_llama_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_llama(tmp_path_factory.mktemp("tiny-llama"))
