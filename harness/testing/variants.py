"""Model variants built offline, for checking that fingerprinting tells weights apart.

Each builder writes a plain ``save_pretrained`` directory (weights, config, tokenizer, chat template)
that our OpenAI server or any transformers tool loads like a Hub checkpoint, and each is deterministic
for its arguments (seeded), so a test that says "a 1-step fine-tune is detected" means one fixed model.

* ``perturbed_copy``: every weight multiplied by ``1 + sigma * N(0, 1)``: other weights, same
  architecture and tokenizer, a difference of known size.
* ``finetuned_copy``: a few plain SGD steps of next-token loss on given texts: a *light* fine-tune of
  the same base, the hard case (its log-probabilities move less than llama.cpp's numerics do).
* ``tiny_llama``: a different model with a different tokenizer (byte-level BPE trained with
  ``tokenizers`` on given texts), random weights, ChatML template.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from collections.abc import Sequence
from pathlib import Path

CHATML_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
VARIANT_RECORD = "harness_variant.json"


def _copy_tokenizer_files(src: Path, dst: Path) -> None:
    for p in src.iterdir():
        if p.is_file() and (
            p.name.startswith(("tokenizer", "special_tokens", "chat_template")) or p.suffix == ".jinja"
        ):
            shutil.copy2(p, dst / p.name)


def _save(model, src: Path, out_dir: Path, record: dict) -> Path:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out_dir)
    _copy_tokenizer_files(Path(src), out_dir)
    (out_dir / VARIANT_RECORD).write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
    return out_dir


def _load(src: str | Path):
    import torch
    from transformers import AutoModelForCausalLM

    from harness.models.smollm2 import resolve_model_path

    path = Path(resolve_model_path(str(src)))
    return path, AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)


def perturbed_copy(src: str | Path, out_dir: str | Path, *, sigma: float, seed: int = 0) -> Path:
    """``src`` with every parameter multiplied by (1 + sigma * N(0, 1)) (seeded)."""
    import torch

    if sigma <= 0:
        raise ValueError(f"sigma must be positive, got {sigma}")
    path, model = _load(src)
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(1 + sigma * torch.randn(p.shape, generator=gen, dtype=p.dtype))
    record = {"variant": "perturbed", "source": str(path), "sigma": sigma, "seed": seed}
    return _save(model, path, Path(out_dir), record)


def finetuned_copy(
    src: str | Path,
    out_dir: str | Path,
    *,
    texts: Sequence[str],
    steps: int = 1,
    lr: float = 1e-3,
    batch_size: int = 4,
    max_length: int = 128,
    seed: int = 0,
) -> Path:
    """``src`` after ``steps`` SGD steps (no momentum) of causal-LM loss on ``texts``, batch by batch."""
    import torch

    if steps < 1 or not texts:
        raise ValueError("finetuned_copy needs at least one step and one text")
    path, model = _load(src)
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(path)
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    torch.manual_seed(seed)
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    losses = []
    for step in range(steps):
        start = (step * batch_size) % len(texts)
        batch = [texts[(start + i) % len(texts)] for i in range(batch_size)]
        enc = tok(batch, return_tensors="pt", padding=True, truncation=True, max_length=max_length)
        labels = enc["input_ids"].clone()
        labels[enc["attention_mask"] == 0] = -100
        loss = model(**enc, labels=labels).loss
        loss.backward()
        opt.step()
        opt.zero_grad()
        losses.append(round(float(loss.detach()), 4))
    model.eval()
    record = {
        "variant": "finetuned",
        "source": str(path),
        "optimizer": "SGD",
        "lr": lr,
        "steps": steps,
        "batch_size": batch_size,
        "texts": len(texts),
        "losses": losses,
        "seed": seed,
    }
    return _save(model, path, Path(out_dir), record)


def train_bpe_tokenizer(texts: Sequence[str], vocab_size: int = 1024):
    """A byte-level BPE tokenizer trained on ``texts`` with ChatML specials and a chat template."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(list(texts), trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token="<|im_start|>", eos_token="<|im_end|>", pad_token="<|endoftext|>"
    )
    fast.chat_template = CHATML_TEMPLATE
    return fast


@dataclasses.dataclass(frozen=True)
class TinySize:
    """The shape of a ``tiny_llama`` (the default: the 2-layer, 64-wide model the tests use)."""

    hidden_size: int = 64
    intermediate_size: int = 128
    num_hidden_layers: int = 2
    num_attention_heads: int = 4
    num_key_value_heads: int = 2


def tiny_llama(
    out_dir: str | Path,
    *,
    texts: Sequence[str],
    vocab_size: int = 1024,
    seed: int = 0,
    initializer_range: float = 0.02,
    max_position_embeddings: int = 4096,
    size: TinySize | None = None,
) -> Path:
    """A Llama with random (seeded) weights and its own BPE tokenizer: 2 layers, 64 wide by default.

    With the usual ``initializer_range`` 0.02 its next-token distributions are nearly uniform, so two
    seeds are hard to tell apart from samples; a larger range (e.g. 1.0) makes them peaked and distinct.
    ``size`` changes the shape (``scripts/gpu_smoke.py`` needs a head size vLLM's kernels support).
    """
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    shape = size or TinySize()
    tokenizer = train_bpe_tokenizer(texts, vocab_size)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=shape.hidden_size,
        intermediate_size=shape.intermediate_size,
        num_hidden_layers=shape.num_hidden_layers,
        num_attention_heads=shape.num_attention_heads,
        num_key_value_heads=shape.num_key_value_heads,
        max_position_embeddings=max_position_embeddings,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=True,
        initializer_range=initializer_range,
    )
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    record = {
        "variant": "tiny_llama",
        "vocab_size": len(tokenizer),
        "texts": len(texts),
        "seed": seed,
        "initializer_range": initializer_range,
    }
    if size is not None and size != TinySize():
        record["size"] = dataclasses.asdict(size)
    (out / VARIANT_RECORD).write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
    return out
