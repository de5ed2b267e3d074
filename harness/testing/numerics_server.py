"""harness's OpenAI server with other honest serving numerics: threads, chunked prefill, batching, attention.

A serving stack computes the same weights with other kernels and shapes, and an honest endpoint must
not be called a substitute for that. This wraps ``harness.models.openai_server``'s engine so that the
same float32 (or bf16/fp16) weights are run the way other servers run them:

* ``--threads N``: torch's intra-op threads (reductions split differently);
* ``--prefill-chunk C``: the prompt is processed in chunks of C tokens through the KV cache, as vLLM's
  chunked prefill and llama.cpp's ``n_batch`` do (other matmul shapes, attention over a cache);
* ``--batch-rows B``: every forward pass carries B-1 other sequences of the same length beside ours
  (seeded random tokens), as a continuously batching server computes each request inside a batch;
  rows do not interact mathematically, but the GEMM shapes, and so the rounding, can change;
* ``--attn eager|sdpa``: transformers' attention implementation.

Which of these actually change the numbers on a given CPU is measured, not assumed (the zoo's floor
table reports the divergence each one produced).
"""

from __future__ import annotations

import logging
import os
import sys
from types import SimpleNamespace
from typing import Any

import typer

from harness.models.server_process import PORT_PLACEHOLDER, ServerHandle, start_server

log = logging.getLogger("harness.testing.numerics_server")


class ServingNumerics:
    """A causal LM called the way the engine calls it, computed with chunked prefill and/or batch rows."""

    def __init__(self, model: Any, *, prefill_chunk: int | None = None, batch_rows: int = 1, seed: int = 0):
        if prefill_chunk is not None and prefill_chunk < 1:
            raise ValueError(f"prefill_chunk must be >= 1, got {prefill_chunk}")
        if batch_rows < 1:
            raise ValueError(f"batch_rows must be >= 1, got {batch_rows}")
        self.model = model
        self.prefill_chunk = prefill_chunk
        self.batch_rows = batch_rows
        self.seed = seed

    def __getattr__(self, name: str) -> Any:  # config, get_output_embeddings, generation_config ...
        return getattr(self.model, name)

    def _rows(self, input_ids, past_key_values):
        import torch

        if self.batch_rows == 1:
            return input_ids
        if past_key_values is None:  # prefill: B-1 seeded random sequences of our length
            gen = torch.Generator().manual_seed(self.seed + input_ids.shape[1])
            vocab = int(self.model.get_output_embeddings().weight.shape[0])
            others = torch.randint(0, vocab, (self.batch_rows - 1, input_ids.shape[1]), generator=gen)
            return torch.cat([input_ids, others], dim=0)
        return input_ids.repeat(self.batch_rows, 1)  # decode: the others continue with our token

    def __call__(self, input_ids, past_key_values=None, use_cache: bool = False, **kw: Any):
        from transformers import DynamicCache

        ids = self._rows(input_ids, past_key_values)
        chunk = self.prefill_chunk
        if chunk is None or ids.shape[1] <= chunk:
            out = self.model(input_ids=ids, past_key_values=past_key_values, use_cache=use_cache, **kw)
            return SimpleNamespace(logits=out.logits[:1], past_key_values=out.past_key_values)
        cache = past_key_values if past_key_values is not None else DynamicCache()
        pieces = []
        for start in range(0, ids.shape[1], chunk):
            out = self.model(
                input_ids=ids[:, start : start + chunk], past_key_values=cache, use_cache=True, **kw
            )
            cache = out.past_key_values
            pieces.append(out.logits[:1])
        import torch

        return SimpleNamespace(logits=torch.cat(pieces, dim=1), past_key_values=cache)


def serve(
    model: str = typer.Option(..., "--model"),
    port: int = typer.Option(8000, "--port"),
    host: str = typer.Option("127.0.0.1", "--host"),
    served_model_name: str | None = typer.Option(None, "--served-model-name"),
    dtype: str = typer.Option("float32", "--dtype"),
    seed: int = typer.Option(0, "--seed"),
    threads: int | None = typer.Option(None, "--threads", help="torch intra-op threads"),
    prefill_chunk: int | None = typer.Option(None, "--prefill-chunk", help="prompt chunk size (tokens)"),
    batch_rows: int = typer.Option(1, "--batch-rows", help="sequences per forward pass (ours + others)"),
    attn: str | None = typer.Option(None, "--attn", help="eager or sdpa"),
) -> None:
    """Serve a model with harness's OpenAI server under other serving numerics."""
    import torch

    from harness.models.openai_server import load_engine, make_server

    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(message)s")
    if threads:
        torch.set_num_threads(threads)
    engine = load_engine(model, served_model_name=served_model_name, dtype=dtype, seed=seed)
    if attn:
        engine.model.set_attn_implementation(attn)
    if prefill_chunk or batch_rows > 1:
        engine.model = ServingNumerics(
            engine.model, prefill_chunk=prefill_chunk, batch_rows=batch_rows, seed=seed
        )
    server = make_server(engine, host, port)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def serve_numerics(
    model_dir: str,
    *,
    served_model_name: str,
    dtype: str = "float32",
    threads: int | None = None,
    prefill_chunk: int | None = None,
    batch_rows: int = 1,
    attn: str | None = None,
    seed: int = 0,
    timeout: float = 180,
) -> ServerHandle:
    """Start ``harness.testing.numerics_server`` as a child process; returns its handle."""
    cmd = [sys.executable, "-m", "harness.testing.numerics_server", "--model", str(model_dir)]
    cmd += ["--port", PORT_PLACEHOLDER, "--served-model-name", served_model_name, "--dtype", dtype]
    cmd += ["--seed", str(seed), "--batch-rows", str(batch_rows)]
    if threads:
        cmd += ["--threads", str(threads)]
    if prefill_chunk:
        cmd += ["--prefill-chunk", str(prefill_chunk)]
    if attn:
        cmd += ["--attn", attn]
    env = {"OMP_NUM_THREADS": str(threads)} if threads else None
    return start_server(cmd, timeout=timeout, env=env)


if __name__ == "__main__":
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    typer.run(serve)
