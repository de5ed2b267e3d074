"""The claimed model on local disk: its tokenizer always, its weights when present.

Everything the probes compare against comes from here: token counts, chat templates, a forward pass
that gives the reference's log-probabilities on exactly the tokens the endpoint reported, and samples
for the two-sample test. ``--reference`` may be a transformers directory with weights and tokenizer,
a directory with only a tokenizer (then only the tokenizer probes can speak), or ``smollm2``.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth")
ROWS_CACHE_SIZE = 128
_LOADED: dict[tuple, Reference] = {}


def _state_key(path: Path) -> tuple:
    """Directory plus the size and mtime of its files: a rewritten model is a different reference."""
    if not path.is_dir():
        return (str(path),)
    return (
        str(path.resolve()),
        *sorted((p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in path.iterdir() if p.is_file()),
    )


class ReferenceError(ValueError):
    """The reference path cannot serve as a reference (missing, no tokenizer, unreadable)."""


@dataclass
class Reference:
    path: Path
    label: str
    tokenizer: Any
    has_weights: bool
    device: str = "cpu"
    _model: Any = field(default=None, repr=False)

    _rows_cache: OrderedDict = field(default_factory=OrderedDict, repr=False)
    _greedy_cache: dict = field(default_factory=dict, repr=False)

    @classmethod
    def load(cls, reference: str | Path) -> Reference:
        """Load the tokenizer now and note whether weights exist (they load on first use).

        One process keeps one Reference per directory (and file state), so repeated runs against
        several endpoints (an audit, the tests) load the weights and score each text only once.
        """
        from harness.models.smollm2 import resolve_model_path

        label = str(reference)
        path = Path(resolve_model_path(label))
        key = _state_key(path)
        cached = _LOADED.get(key)
        if cached is not None:
            return cached
        ref = cls._load(label, path)
        _LOADED[key] = ref
        return ref

    @classmethod
    def _load(cls, label: str, path: Path) -> Reference:
        from transformers import AutoTokenizer

        if not path.exists():
            raise ReferenceError(f"--reference {label}: {path} does not exist")
        if not path.is_dir():
            raise ReferenceError(
                f"--reference {label}: {path} is a file; give a transformers directory "
                "(config.json, weights, tokenizer files)"
            )
        try:
            tokenizer = AutoTokenizer.from_pretrained(path)
        except Exception as e:  # transformers raises OSError/ValueError/KeyError for unusable folders
            raise ReferenceError(f"--reference {label}: no usable tokenizer in {path}: {e}") from e
        has_weights = (path / "config.json").is_file() and any(
            p.suffix in WEIGHT_SUFFIXES for p in path.iterdir()
        )
        try:
            import torch

            device = "cuda" if torch.cuda.is_available() else "cpu"
        except ImportError:  # pragma: no cover - torch is a dependency
            device = "cpu"
        return cls(path=path, label=label, tokenizer=tokenizer, has_weights=has_weights, device=device)

    # ------------------------------------------------------------------ tokenizer ----

    def encode(self, text: str) -> list[int]:
        """Token ids of a completion prompt, special tokens added as this tokenizer adds them."""
        return list(self.tokenizer(text)["input_ids"])

    def encode_plain(self, text: str) -> list[int]:
        """Token ids of text with no special tokens (a piece inside a longer prompt or an output)."""
        return list(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    @property
    def has_chat_template(self) -> bool:
        return bool(getattr(self.tokenizer, "chat_template", None))

    def chat_prompt_ids(self, messages: list[dict[str, str]]) -> list[int]:
        """The prompt a server builds from ``messages`` with this template (as vLLM does: no extra BOS)."""
        text = self.tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
        return self.encode_plain(text)

    def token_text(self, token_id: int) -> str:
        return self.tokenizer.decode([token_id], skip_special_tokens=False)

    def decode(self, ids: list[int]) -> str:
        return self.tokenizer.decode(ids, skip_special_tokens=True)

    @property
    def vocab_size(self) -> int:
        return len(self.tokenizer)

    @cached_property
    def string_to_id(self) -> dict[str, int]:
        """Token text -> id for texts that name exactly one id (servers report tokens as text)."""
        seen: dict[str, int] = {}
        ambiguous: set[str] = set()
        for i in range(self.vocab_size):
            s = self.token_text(i)
            if s in seen:
                ambiguous.add(s)
            else:
                seen[s] = i
        for s in ambiguous | {"", "\ufffd"}:
            seen.pop(s, None)
        return seen

    @cached_property
    def special_token_texts(self) -> set[str]:
        return {str(t) for t in getattr(self.tokenizer, "all_special_tokens", [])}

    def provenance(self) -> dict[str, Any]:
        """Path, weight sha256s and config identity, for the record (see harness.models.smollm2)."""
        from harness.models.smollm2 import model_provenance

        record = model_provenance(self.path)
        record["reference"] = self.label
        record["has_weights"] = self.has_weights
        return record

    # --------------------------------------------------------------------- weights ----

    @property
    def model(self) -> Any:
        if not self.has_weights:
            raise ReferenceError(f"--reference {self.label}: {self.path} has a tokenizer but no weights")
        if self._model is None:
            import torch
            from transformers import AutoModelForCausalLM

            try:
                self._model = AutoModelForCausalLM.from_pretrained(self.path, dtype=torch.float32)
            except Exception as e:
                raise ReferenceError(
                    f"--reference {self.label}: could not load weights from {self.path}: {e}"
                ) from e
            self._model.to(self.device).eval()
        return self._model

    @cached_property
    def weights_sha256(self) -> str:
        """One digest over the weight files and config (the calibration cache key)."""
        import hashlib

        from harness.models.smollm2 import sha256_file

        h = hashlib.sha256()
        for p in sorted(self.path.iterdir()):
            if p.suffix in WEIGHT_SUFFIXES or p.name in ("config.json", "tokenizer.json"):
                h.update(p.name.encode())
                h.update(sha256_file(p).encode())
        return h.hexdigest()

    def log_softmax_rows(self, seqs: list[list[int]], model: Any = None, batch_size: int = 8) -> list[Any]:
        """Per sequence, a float32 [len, vocab] tensor: row i is log P(next token | tokens 0..i).

        Sequences are right-padded into batches (the causal mask keeps padding out of real positions).
        The reference's own rows are memoised per sequence (``ROWS_CACHE_SIZE`` most recent).
        """
        if model is None:
            keys = [tuple(s) for s in seqs]
            todo = [i for i, k in enumerate(keys) if k not in self._rows_cache]
            if todo:
                fresh = self._rows([seqs[i] for i in todo], self.model, batch_size)
                for i, rows in zip(todo, fresh, strict=True):
                    self._rows_cache[keys[i]] = rows
            out = []
            for k in keys:
                self._rows_cache.move_to_end(k)
                out.append(self._rows_cache[k])
            while len(self._rows_cache) > ROWS_CACHE_SIZE:
                self._rows_cache.popitem(last=False)
            return out
        return self._rows(seqs, model, batch_size)

    def _rows(self, seqs: list[list[int]], model: Any, batch_size: int) -> list[Any]:
        import torch

        device = next(model.parameters()).device
        out: list[Any] = [None] * len(seqs)
        order = sorted(range(len(seqs)), key=lambda i: len(seqs[i]))
        with torch.inference_mode():
            for start in range(0, len(order), batch_size):
                idx = order[start : start + batch_size]
                width = max(len(seqs[i]) for i in idx)
                ids = torch.zeros((len(idx), width), dtype=torch.long)
                mask = torch.zeros((len(idx), width), dtype=torch.long)
                for row, i in enumerate(idx):
                    ids[row, : len(seqs[i])] = torch.tensor(seqs[i])
                    mask[row, : len(seqs[i])] = 1
                logits = model(input_ids=ids.to(device), attention_mask=mask.to(device)).logits.float()
                lps = torch.log_softmax(logits, dim=-1).cpu()
                for row, i in enumerate(idx):
                    out[i] = lps[row, : len(seqs[i])].clone()
        return out

    def generate(
        self,
        prompt_ids: list[int],
        *,
        n: int,
        max_new_tokens: int,
        temperature: float,
        seed: int,
    ) -> list[list[int]]:
        """``n`` continuations (greedy at temperature 0), EOS-terminated ones without the EOS token.

        Greedy continuations are memoised per prompt and length (they are deterministic).
        """
        import torch

        key = (tuple(prompt_ids), max_new_tokens)
        if temperature == 0 and key in self._greedy_cache:
            return [list(self._greedy_cache[key]) for _ in range(n)]

        model = self.model
        torch.manual_seed(seed)
        ids = torch.tensor([prompt_ids], device=next(model.parameters()).device)
        eos = self.tokenizer.eos_token_id
        kwargs: dict[str, Any] = {
            "max_new_tokens": max_new_tokens,
            "pad_token_id": eos if eos is not None else 0,
            "attention_mask": torch.ones_like(ids),
        }
        if temperature > 0:
            kwargs |= {"do_sample": True, "temperature": temperature, "top_p": 1.0, "top_k": 0}
            kwargs["num_return_sequences"] = n
        else:
            kwargs["do_sample"] = False
        with torch.inference_mode():
            out = model.generate(ids, **kwargs)
        seqs = []
        for row in out.tolist():
            gen = row[len(prompt_ids) :]
            if eos is not None and eos in gen:
                gen = gen[: gen.index(eos)]
            seqs.append(gen)
        if temperature == 0:
            self._greedy_cache[key] = list(seqs[0])
            seqs = [list(seqs[0]) for _ in range(n)]
        return seqs
