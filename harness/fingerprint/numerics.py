"""Honest numerics of the same weights, simulated in bounded memory: what "same weights" may look like.

Each variant replaces the forward of every ``nn.Linear`` (and the input embedding lookup) for the
duration of a ``with`` block: the layer's weight is converted (cast or fake-quantised) when the layer
runs and dropped right after, so the extra memory is one layer's weight, never a copy of the model.
Nothing needs gradients.

* ``bf16``: matmuls in bfloat16 (vLLM's and most GPU servers' default).
* ``w8a8``: weights and activations rounded to 8 bits in blocks of 32 (GGUF Q8_0 with llama.cpp's 8-bit
  activations).
* ``q4_0``: weights 4-bit symmetric in blocks of 32 (GGUF Q4_0), activations 8-bit.
* ``q4_64``: weights 4-bit affine in blocks of 64, activations 8-bit. Its grid is not aligned with any
  block-32 grid, so a reference that was itself de-quantised from a 4-bit file (the bundled SmolLM2 was,
  from Q4_1) still sees a real 4-bit perturbation; v1's Q4_1-like variant was a no-op on it.

In the 4-bit variants the input embedding and the output head stay 8-bit, as llama.cpp's quantiser keeps
them (a tied embedding is Q8_0 in a Q4_0 file): a 4-bit head would be far harsher than any real 4-bit
file. Measured on SmolLM2-135M (12 texts): llama.cpp Q4_0 made from the float32 weights differs from them
by 1.07 nats RMS per token, Q4_K_M by 0.43, Q8_0 by 0.105; this module's ``q4_0`` by about 1.1 and
``w8a8`` by 0.115.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

VARIANTS: tuple[str, ...] = ("bf16", "w8a8", "q4_0", "q4_64")
BLOCK = 32


CHUNK_ROWS = 4096  # quantise big matrices in row chunks: the float32 temporaries stay small


def _chunked(fn):
    """Apply a per-block quantiser to a 2-D weight in row chunks (an 8B model's head is 0.5B values).

    Each chunk is written into one preallocated result: collecting the chunks and concatenating them
    would hold the converted matrix twice (2 x 113 MB for SmolLM2's tied head). Blocks lie within a
    row, so the result is bit-identical to converting the whole matrix at once (tested)."""

    def run(w, *args):
        import torch

        if w.dim() != 2 or w.shape[0] <= CHUNK_ROWS:
            return fn(w, *args)
        out = torch.empty_like(w)
        for i in range(0, w.shape[0], CHUNK_ROWS):
            out[i : i + CHUNK_ROWS] = fn(w[i : i + CHUNK_ROWS], *args)
        return out

    return run


def _blocks(w, block: int):
    last = w.shape[-1]
    return w.reshape(-1, block) if last % block == 0 else w.reshape(-1, last)


def fake_quant_symmetric(w, bits: int, block: int = BLOCK):
    """Round to ``bits`` signed levels per block with a per-block scale (Q8_0 / Q4_0 style)."""
    import torch

    b = _blocks(w.float(), block)
    qmax = 2 ** (bits - 1) - 1
    scale = b.abs().amax(dim=1, keepdim=True) / qmax
    scale = torch.where(scale == 0, torch.ones_like(scale), scale)
    return (torch.round(b / scale).clamp(-qmax - 1, qmax) * scale).reshape(w.shape).to(w.dtype)


def fake_quant_affine(w, bits: int, block: int = BLOCK):
    """Round to ``2**bits`` levels between each block's min and max (Q4_1 style)."""
    import torch

    b = _blocks(w.float(), block)
    lo = b.amin(dim=1, keepdim=True)
    scale = (b.amax(dim=1, keepdim=True) - lo) / (2**bits - 1)
    scale = torch.where(scale == 0, torch.ones_like(scale), scale)
    return (torch.round((b - lo) / scale).clamp(0, 2**bits - 1) * scale + lo).reshape(w.shape).to(w.dtype)


def _weight_fn(kind: str):
    sym, aff = _chunked(fake_quant_symmetric), _chunked(fake_quant_affine)
    if kind == "w8a8":
        return lambda w: sym(w, 8)
    if kind == "q4_0":
        return lambda w: sym(w, 4)
    if kind == "q4_64":
        return lambda w: aff(w, 4, 64)
    raise ValueError(kind)


def _edge_fn(kind: str):
    """Input embedding and output head: 8-bit (llama.cpp keeps a tied embedding at Q8_0 in a Q4_0 file and
    the output head at Q6_K or better)."""
    sym = _chunked(fake_quant_symmetric)
    return lambda w: sym(w, 8)


@contextlib.contextmanager
def numerics_variant(model: Any, kind: str) -> Iterator[Any]:
    """``model`` computing under ``kind`` inside the block (the weights themselves are never modified)."""
    import torch
    import torch.nn.functional as F

    if kind not in VARIANTS:
        raise ValueError(f"unknown numerics variant {kind!r}; known: {', '.join(VARIANTS)}")
    patched: list[tuple[Any, Any]] = []

    head = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None

    def linear_forward(module):
        if kind == "bf16":

            def fwd(x):
                b = None if module.bias is None else module.bias.to(torch.bfloat16)
                return F.linear(x.to(torch.bfloat16), module.weight.to(torch.bfloat16), b).to(x.dtype)

            return fwd
        quant_w = _edge_fn(kind) if module is head else _weight_fn(kind)

        def fwd(x):
            xq = fake_quant_symmetric(x, 8) if x.shape[-1] % BLOCK == 0 else x
            return F.linear(xq, quant_w(module.weight), module.bias)

        return fwd

    def embedding_forward(module):
        quant_w = (lambda w: w.to(torch.bfloat16).to(w.dtype)) if kind == "bf16" else _edge_fn(kind)

        def fwd(ids):
            rows = F.embedding(ids, module.weight, module.padding_idx)
            # quantising looked-up rows equals looking up quantised rows (blocks lie within a row)
            return quant_w(rows.reshape(-1, rows.shape[-1])).reshape(rows.shape)

        return fwd

    try:
        for m in model.modules():
            if isinstance(m, torch.nn.Linear):
                patched.append((m, m.forward))
                m.forward = linear_forward(m)
            elif isinstance(m, torch.nn.Embedding):
                patched.append((m, m.forward))
                m.forward = embedding_forward(m)
        yield model
    finally:
        for m, fwd in patched:
            m.forward = fwd
