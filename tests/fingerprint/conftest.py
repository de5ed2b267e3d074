"""Fingerprint fixtures: model variants built once per session, real servers on loopback shared by the
end-to-end cases (a)-(f), and a tiny different-tokenizer model for the fast tests."""

from __future__ import annotations

import os

# Before torch loads: idle OpenMP threads sleep rather than spin, so this process and the servers it
# starts do not stall each other on two cores (see harness.models.server_process.start_server).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from collections.abc import Iterator
from pathlib import Path

import pytest

FINETUNE_TEXTS = 4  # GSM8K train items: a light fine-tune sees one batch of four


def gsm8k_train_texts(n: int, offset: int = 0) -> list[str]:
    from harness.data import load_benchmark

    rows = load_benchmark("gsm8k", "train").rows
    return [r["question"] + "\n" + r["answer"] for r in rows[offset : offset + n]]


@pytest.fixture(scope="session")
def tiny_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A different model with a different tokenizer (BPE trained on GSM8K train text), random weights."""
    from harness.testing.variants import tiny_llama

    return tiny_llama(
        tmp_path_factory.mktemp("tiny"),
        texts=gsm8k_train_texts(2000),
        vocab_size=1024,
        seed=0,
        initializer_range=1.0,
    )


@pytest.fixture(scope="session")
def perturbed_dir(smollm2_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """SmolLM2 with 2% relative noise on every weight: same tokenizer, other weights."""
    from harness.testing.variants import perturbed_copy

    return perturbed_copy(smollm2_dir, tmp_path_factory.mktemp("perturbed"), sigma=0.02, seed=7)


@pytest.fixture(scope="session")
def finetuned_dir(smollm2_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """SmolLM2 after ONE plain SGD step (lr 1e-3) on four GSM8K train problems: a light fine-tune whose
    log-probabilities move about 20x less than llama.cpp's numerics move them."""
    from harness.testing.variants import finetuned_copy

    return finetuned_copy(
        smollm2_dir,
        tmp_path_factory.mktemp("finetuned"),
        texts=gsm8k_train_texts(FINETUNE_TEXTS),
        steps=1,
        lr=1e-3,
    )


def _serve(**kw) -> Iterator:
    from harness.models.server_process import serve_transformers

    with serve_transformers(**kw) as handle:
        yield handle


@pytest.fixture(scope="session")
def reference_server(smollm2_dir: Path) -> Iterator:
    yield from _serve(model_dir=smollm2_dir, served_model_name="smollm2")


@pytest.fixture(scope="session")
def bf16_server(smollm2_dir: Path) -> Iterator:
    yield from _serve(model_dir=smollm2_dir, served_model_name="smollm2", dtype="bfloat16")


@pytest.fixture(scope="session")
def llama_cpp_server(smollm2_gguf: Path) -> Iterator:
    from harness.testing.servers import serve_llama_cpp

    with serve_llama_cpp(smollm2_gguf, served_model_name="smollm2") as handle:
        yield handle


@pytest.fixture(scope="session")
def perturbed_server(perturbed_dir: Path) -> Iterator:
    yield from _serve(model_dir=perturbed_dir, served_model_name="smollm2-perturbed")


@pytest.fixture(scope="session")
def finetuned_server(finetuned_dir: Path) -> Iterator:
    yield from _serve(model_dir=finetuned_dir, served_model_name="smollm2")


@pytest.fixture(scope="session")
def tiny_server(tiny_dir: Path) -> Iterator:
    yield from _serve(model_dir=tiny_dir, served_model_name="smollm2")


@pytest.fixture(scope="session")
def tiny_signature(tiny_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny model's signature (tokenizer, 20 items per kind, calibration): no weights."""
    from harness.fingerprint.signature import write_signature

    return write_signature(tiny_dir, tmp_path_factory.mktemp("sig") / "tiny.sig", items=20, seed=5)


@pytest.fixture(scope="session")
def tiny_other_server(tiny_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    """The tiny model with 100% relative noise on every weight: same tokenizer, other weights."""
    from harness.testing.variants import perturbed_copy

    other = perturbed_copy(tiny_dir, tmp_path_factory.mktemp("tiny-other"), sigma=1.0, seed=3)
    yield from _serve(model_dir=other, served_model_name="smollm2")
