"""Numerics variants: the same weights computed otherwise, in bounded memory, leaving the model intact."""

from __future__ import annotations

import pytest
import torch

from harness.fingerprint.numerics import (
    CHUNK_ROWS,
    VARIANTS,
    _chunked,
    fake_quant_affine,
    fake_quant_symmetric,
    numerics_variant,
)


def test_fake_quant_levels():
    w = torch.randn(4, 64, generator=torch.Generator().manual_seed(0))
    q = fake_quant_symmetric(w, 4)
    per_block = q.reshape(-1, 32)
    assert all(len(torch.unique(b)) <= 16 for b in per_block)
    a = fake_quant_affine(w, 4, 64)
    assert all(len(torch.unique(b)) <= 16 for b in a.reshape(-1, 64))
    assert torch.allclose(fake_quant_symmetric(w, 8), w, atol=0.05)


@pytest.mark.parametrize(("fn", "args"), [(fake_quant_symmetric, (8,)), (fake_quant_affine, (4, 64))])
def test_row_chunks_give_the_whole_matrix_conversion_bit_for_bit(fn, args):
    """A head larger than one chunk is converted in pieces; the pieces must equal the whole."""
    w = torch.randn(2 * CHUNK_ROWS + 77, 128, generator=torch.Generator().manual_seed(1))
    assert torch.equal(_chunked(fn)(w, *args), fn(w, *args))
    assert not torch.equal(fn(w, *args), w)  # the conversion did something


@pytest.fixture(scope="module")
def tiny_model(tiny_dir):
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(tiny_dir, dtype=torch.float32).eval()


def test_variants_change_outputs_a_little_and_never_the_weights(tiny_model):
    ids = torch.tensor([[1, 5, 9, 40, 7, 3, 99, 12]])
    before = {k: v.clone() for k, v in tiny_model.state_dict().items()}
    with torch.inference_mode():
        ref = torch.log_softmax(tiny_model(input_ids=ids).logits, -1)
        diffs = {}
        for kind in VARIANTS:
            with numerics_variant(tiny_model, kind) as m:
                out = torch.log_softmax(m(input_ids=ids).logits, -1)
            diffs[kind] = float((out - ref).abs().mean())
        after = torch.log_softmax(tiny_model(input_ids=ids).logits, -1)
    assert torch.equal(after, ref)  # patched forwards are restored
    assert all(torch.equal(before[k], v) for k, v in tiny_model.state_dict().items())
    assert 0 < diffs["bf16"] < diffs["q4_0"] and diffs["w8a8"] < diffs["q4_0"]


@pytest.mark.slow
def test_a_variant_forward_does_not_copy_the_model(smollm2_dir, peak_rss_kib):
    """SmolLM2 (538 MB in float32): a 4-bit variant's forward converts one layer at a time, so the peak
    grows by far less than a copy of the model."""
    from harness.fingerprint.reference import load_reference

    ref = load_reference(smollm2_dir)
    model = ref.model
    size_kib = sum(p.numel() * p.element_size() for p in model.parameters()) // 1024
    ids = ref.encode("A short text to score under 4-bit numerics.")
    import re
    from pathlib import Path

    def kib(field: str) -> int:
        return int(re.search(rf"{field}:\s+(\d+)", Path("/proc/self/status").read_text()).group(1))

    ref._forward([ids], model)  # warm up allocator caches
    Path("/proc/self/clear_refs").write_text("5")  # reset the high-water mark to the current RSS
    base = kib("VmRSS")
    with numerics_variant(model, "q4_0") as m:
        ref._forward([ids], m)
    grew = kib("VmHWM") - base
    assert grew < 0.5 * size_kib, (grew, size_kib)
