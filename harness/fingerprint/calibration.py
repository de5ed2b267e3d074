"""The numerics band, measured on the reference itself: what "same weights, other numerics" looks like.

No per-token tolerance separates a different precision from different weights (the same SmolLM2
weights in llama.cpp Q4_1 and transformers fp32 differ by up to 0.1 nats on a token). So we run the
reference under the numerics a server plausibly uses and measure, on exactly the endpoint's tokens,
the same statistics we measure on the endpoint:

* ``bf16``: weights and arithmetic in bfloat16 (vLLM's and most GPU servers' default);
* ``w8``: weights rounded to 8 bits in blocks of 32 (like GGUF Q8_0);
* ``a8``: activations rounded to 8 bits in blocks of 32 before every matmul (what llama.cpp's CPU
  kernels do to activations for quantised weights), weights untouched;
* ``w4a8``: weights 4-bit with a per-block minimum and scale (like Q4_1) except the embedding (8-bit),
  activations 8-bit: a typical 4-bit GGUF deployment;
* ``noise-1%``: every weight multiplied by (1 + 0.01 N(0, 1)), a generic unstructured perturbation; it
  gives the scale to express a divergence as "equivalent weight noise" and, with the gradient below,
  the null spread of the drift test.

The first three set the precision band, ``w4a8`` the quantisation band. For the drift test,
``loglik_gradient_sq_norm`` gives ||w * G||^2, G the gradient of the texts' total log-likelihood: to first
order a perturbation w -> w (1 + sigma xi) shifts the mean drift by w*G . xi sigma / n, whose standard
deviation over random xi is sigma ||w * G|| / n, while the KL grows as sigma^2; dividing by the KL that
``noise-1%`` actually produced gives the null scale of drift / sqrt(KL) without drawing many noise
samples (docs/fingerprint.md compares it with 14 drawn ones). Results are cached per reference digest,
prompt tokens and top-k under ``$HARNESS_HOME/fingerprint/calibration``.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from harness.fingerprint.divergence import PositionStats, compare_rows, variant_entries
from harness.paths import harness_home

CALIBRATION_VERSION = 2
PRECISION_VARIANTS = ("bf16", "w8", "a8")
QUANTISATION_VARIANTS = ("w4a8",)
NOISE_VARIANTS = {"noise-1%": (0.01, 0)}
VARIANTS = PRECISION_VARIANTS + QUANTISATION_VARIANTS + tuple(NOISE_VARIANTS)
BLOCK = 32


def _blocks(w, block: int = BLOCK):
    last = w.shape[-1]
    return w.reshape(-1, block) if last % block == 0 else w.reshape(-1, last)


def fake_quant_symmetric(w, bits: int):
    """Round to ``bits`` signed levels per block with a per-block scale (Q8_0-style)."""
    import torch

    b = _blocks(w.float())
    qmax = 2 ** (bits - 1) - 1
    scale = b.abs().amax(dim=1, keepdim=True) / qmax
    scale = torch.where(scale == 0, torch.ones_like(scale), scale)
    return (torch.round(b / scale).clamp(-qmax - 1, qmax) * scale).reshape(w.shape).to(w.dtype)


def fake_quant_affine(w, bits: int):
    """Round to ``2**bits`` levels between each block's min and max (Q4_1-style)."""
    import torch

    b = _blocks(w.float())
    lo = b.amin(dim=1, keepdim=True)
    scale = (b.amax(dim=1, keepdim=True) - lo) / (2**bits - 1)
    scale = torch.where(scale == 0, torch.ones_like(scale), scale)
    return (torch.round((b - lo) / scale).clamp(0, 2**bits - 1) * scale + lo).reshape(w.shape).to(w.dtype)


def _activation_hooks(model) -> list[Any]:
    import torch

    def hook(_module, args):
        (x, *rest) = args
        return (fake_quant_symmetric(x, 8), *rest)

    return [
        m.register_forward_pre_hook(hook)
        for m in model.modules()
        if isinstance(m, torch.nn.Linear) and m.in_features % BLOCK == 0
    ]


@contextlib.contextmanager
def numerics_variant(model, kind: str) -> Iterator[Any]:
    """A copy of ``model`` computing under ``kind`` (one of VARIANTS); the original is untouched."""
    import torch

    if kind not in VARIANTS:
        raise ValueError(f"unknown numerics variant {kind!r}; known: {', '.join(VARIANTS)}")
    hooks: list[Any] = []
    if kind == "bf16":
        variant = copy.deepcopy(model).to(torch.bfloat16)
    else:
        variant = copy.deepcopy(model)
        embedding = variant.get_input_embeddings().weight
        with torch.no_grad():
            if kind in NOISE_VARIANTS:
                sigma, seed = NOISE_VARIANTS[kind]
                gen = torch.Generator().manual_seed(seed)
                for p in variant.parameters():
                    noise = torch.randn(p.shape, generator=gen, dtype=torch.float32).to(p.device, p.dtype)
                    p.mul_(1 + sigma * noise)
            elif kind in ("w8", "w4a8"):
                for p in variant.parameters():
                    if p.dim() != 2:
                        continue
                    bits_8 = kind == "w8" or p is embedding
                    p.copy_(fake_quant_symmetric(p, 8) if bits_8 else fake_quant_affine(p, 4))
        if kind in ("a8", "w4a8"):
            hooks = _activation_hooks(variant)
    variant.eval()
    try:
        yield variant
    finally:
        for h in hooks:
            h.remove()
        del variant


def _cache_dir(reference_digest: str) -> Path:
    return harness_home() / "fingerprint" / "calibration" / reference_digest[:24]


def _cache_key(kind: str, ids: list[int], k: int) -> str:
    payload = json.dumps([CALIBRATION_VERSION, kind, k, ids], separators=(",", ":"))
    return hashlib.sha256(payload.encode()).hexdigest()[:32]


def calibrate(
    reference,
    seqs: list[list[int]],
    ref_rows: list[Any],
    k: int,
    *,
    kinds: tuple[str, ...] = VARIANTS,
    use_cache: bool = True,
) -> dict[str, list[PositionStats]]:
    """Per variant, per sequence: PositionStats of the variant against the reference (rows 0..n-2)."""
    out: dict[str, list[PositionStats | None]] = {kind: [None] * len(seqs) for kind in kinds}
    cache = _cache_dir(reference.weights_sha256) if use_cache else None
    for kind in kinds:
        missing = []
        for i, ids in enumerate(seqs):
            path = cache / f"{_cache_key(kind, ids, k)}.npz" if cache else None
            if path is not None and path.is_file():
                with np.load(path) as data:
                    out[kind][i] = PositionStats.from_arrays(dict(data))
            else:
                missing.append(i)
        if not missing:
            continue
        with numerics_variant(reference.model, kind) as variant:
            rows = reference.log_softmax_rows([seqs[i] for i in missing], model=variant)
        for i, vrows in zip(missing, rows, strict=True):
            observed = seqs[i][1:]
            entries, obs_lp = variant_entries(vrows, observed, k)
            stats = compare_rows(entries, observed, obs_lp, ref_rows[i])
            out[kind][i] = stats
            if cache is not None:
                cache.mkdir(parents=True, exist_ok=True)
                tmp = cache / f".{_cache_key(kind, seqs[i], k)}.tmp.npz"
                np.savez(tmp, **stats.to_arrays())
                tmp.replace(cache / f"{_cache_key(kind, seqs[i], k)}.npz")
    return {kind: [s for s in lst if s is not None] for kind, lst in out.items()}


def loglik_gradient_sq_norm(
    reference, seqs: list[list[int]], masks: list[np.ndarray], *, use_cache: bool = True
) -> float:
    """||w * G||^2 with G = sum over the masked positions of grad log P(token | prefix) (float64 sum).

    ``masks[i][r]`` selects row r of sequence i (the distribution of token r + 1). Cached on disk per
    reference digest, sequences and masks.
    """
    import torch

    key_payload = json.dumps(
        [CALIBRATION_VERSION, "grad", [list(s) for s in seqs], [np.flatnonzero(m).tolist() for m in masks]],
        separators=(",", ":"),
    )
    key = hashlib.sha256(key_payload.encode()).hexdigest()[:32]
    path = _cache_dir(reference.weights_sha256) / f"grad-{key}.json" if use_cache else None
    if path is not None and path.is_file():
        return float(json.loads(path.read_text())["sq_norm"])
    model = reference.model
    params = [p for p in model.parameters()]
    for p in params:
        p.grad = None
    device = next(model.parameters()).device
    with torch.enable_grad():
        for ids, mask in zip(seqs, masks, strict=True):
            rows = np.flatnonzero(mask[: len(ids) - 1])
            if len(rows) == 0:
                continue
            x = torch.tensor([ids], device=device)
            logits = model(input_ids=x).logits[0].float()
            lp = torch.log_softmax(logits[torch.as_tensor(rows, device=device)], dim=-1)
            targets = torch.tensor([ids[r + 1] for r in rows], device=device)
            lp.gather(1, targets[:, None]).sum().backward()
    total = 0.0
    with torch.no_grad():
        for p in params:
            if p.grad is not None:
                total += float((p.grad.double() * p.double()).pow(2).sum())
                p.grad = None
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"sq_norm": total}))
        tmp.replace(path)
    return total
