"""A tiny different-tokenizer Llama (built offline, seconds) and our OpenAI server over it, in-process."""

from __future__ import annotations

import os

# Before torch loads: idle OpenMP threads sleep rather than spin, so this process and the servers it
# starts do not stall each other on two cores (see harness.models.server_process.start_server).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from harness.data import load_benchmark
    from harness.testing.variants import tiny_llama

    rows = load_benchmark("gsm8k", "train").rows[:1000]
    texts = [r["question"] + "\n" + r["answer"] for r in rows]
    return tiny_llama(tmp_path_factory.mktemp("tiny-model"), texts=texts, vocab_size=512, seed=0)


@pytest.fixture(scope="session")
def tiny_engine(tiny_model_dir: Path):
    from harness.models.openai_server import load_engine

    return load_engine(str(tiny_model_dir), served_model_name="tiny", seed=0)


@pytest.fixture(scope="session")
def tiny_url(tiny_engine) -> Iterator[str]:
    """Base URL (.../v1) of an in-process server over the tiny engine (a thread, not a subprocess)."""
    from harness.models.openai_server import make_server

    server = make_server(tiny_engine, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()
