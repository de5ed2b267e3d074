"""The claimed model: its tokenizer always; its behaviour from local weights or from a signature file.

Everything the tests compare against comes through this interface:

* tokenizer facts (encode, decode, chat template, EOS ids);
* ``greedy(prompt_ids, max_new)``: the reference's greedy continuation with, at each step, its margin
  (top-1 minus top-2 log-probability) and the chosen token's log-probability;
* ``token_logprobs(ids)``: log P(ids[i] | ids[:i]) for i >= 1 (teacher forcing);
* ``calibration()``: per numerics tier the margin threshold and the honest log-probability bands, and
  the per-position flip bound.

``LocalReference`` computes these from a transformers directory in bounded memory (forward passes
only, one layer converted at a time for the variants; ``numerics.py``) and caches them on disk by
weight digest. ``signature.SignatureReference`` reads them from a file computed once elsewhere.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from harness.paths import harness_home
from harness.records.files import WEIGHT_SUFFIXES, sha256_file

SIGNATURE_FILE = "signature.json.gz"
F32_RAM_SHARE = 0.4  # load in float32 only when that copy takes less than this share of RAM
CALIBRATION_VERSION = 3
_LOADED: dict[tuple, Any] = {}


class ReferenceError(ValueError):
    """The reference path cannot serve as a reference (missing, no tokenizer, unreadable)."""


@dataclass(frozen=True)
class GreedyPath:
    """The reference's greedy continuation of one prompt."""

    prompt_ids: tuple[int, ...]
    ids: tuple[int, ...]  # generated tokens, EOS excluded
    token_texts: tuple[str, ...]
    margins: tuple[float, ...]  # one per generated token, plus the EOS step when ``stopped``
    logprobs: tuple[float, ...]  # of each generated token (EOS excluded)
    stopped: bool  # the reference chose EOS after ``ids``

    def to_dict(self) -> dict[str, Any]:
        return {
            "prompt_ids": list(self.prompt_ids),
            "ids": list(self.ids),
            "token_texts": list(self.token_texts),
            "margins": [round(m, 5) for m in self.margins],
            "logprobs": [round(v, 5) for v in self.logprobs],
            "stopped": self.stopped,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> GreedyPath:
        return cls(
            tuple(d["prompt_ids"]),
            tuple(d["ids"]),
            tuple(d["token_texts"]),
            tuple(float(x) for x in d["margins"]),
            tuple(float(x) for x in d["logprobs"]),
            bool(d["stopped"]),
        )


@dataclass(frozen=True)
class Calibration:
    """What honest numerics do to this reference, per tier (docs/fingerprint.md, "The calibration")."""

    tau: dict[str, float]  # tier -> margin threshold
    max_shift: dict[str, float]  # tier -> largest margin shift towards a flip seen in the calibration
    positions: int  # N calibration positions
    flip_rate: dict[str, float]  # tier -> bound on P(flip | margin > tau), 95% Clopper-Pearson
    high_share: dict[str, float]  # tier -> share of calibration positions with margin > tau
    pooled_rms: dict[str, float]  # variant -> RMS logprob difference over the calibration texts' tokens
    pooled_rms_generated: dict[str, float]  # variant -> the same over greedy continuations' tokens
    rho: float
    variants: dict[str, list[str]]  # tier -> variants in it

    def to_dict(self) -> dict[str, Any]:
        return {
            "tau": self.tau,
            "max_shift": self.max_shift,
            "positions": self.positions,
            "flip_rate": self.flip_rate,
            "high_share": self.high_share,
            "pooled_rms": self.pooled_rms,
            "pooled_rms_generated": self.pooled_rms_generated,
            "rho": self.rho,
            "variants": self.variants,
        }

    def band(self, tier: str, generated: bool) -> float:
        """The tier's honest RMS band: its largest variant's pooled RMS (texts or generated tokens)."""
        pooled = self.pooled_rms_generated if generated else self.pooled_rms
        return max(pooled[k] for k in self.variants[tier])

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Calibration:
        return cls(
            {k: float(v) for k, v in d["tau"].items()},
            {k: float(v) for k, v in d["max_shift"].items()},
            int(d["positions"]),
            {k: float(v) for k, v in d["flip_rate"].items()},
            {k: float(v) for k, v in d["high_share"].items()},
            {k: float(v) for k, v in d["pooled_rms"].items()},
            {k: float(v) for k, v in d["pooled_rms_generated"].items()},
            float(d["rho"]),
            {k: list(v) for k, v in d["variants"].items()},
        )


TIERS: dict[str, tuple[str, ...]] = {
    "16bit": ("bf16",),
    "8bit": ("bf16", "w8a8"),
    "4bit": ("bf16", "w8a8", "q4_0", "q4_64"),
}
RHO = 2.0
TAU_MIN = 1.0
CALIBRATION_SEED = 20261
CALIBRATION_TEXTS = 24
CALIBRATION_PROMPTS = 16
CALIBRATION_NEW_TOKENS = 16


TAU_GRID = tuple(float(x) for x in np.arange(0.5, 30.01, 0.25))
MIN_HIGH_SHARE = 0.05


def calibration_from_raw(raw: dict[str, Any]) -> Calibration:
    """Margin thresholds and flip bounds per tier from the calibration's per-position arrays (pure).

    A position *would flip* under a tier when, for some variant of the tier, ``RHO`` times its margin
    shift exceeds the reference's margin (an honest implementation twice as far from the reference as
    our worst variant). For each candidate ``tau``, ``flip_rate(tau)`` is the 95% Clopper-Pearson upper
    bound on the share of the positions with margin > tau that would flip (the null flip rate at a
    confident position, which the greedy test's power depends on); ``tau`` is the grid value minimising
    it among thresholds that keep at least ``MIN_HIGH_SHARE`` of positions. Chosen from the calibration
    alone, never from an endpoint's answers.
    """
    from harness.fingerprint.evalues import clopper_pearson_upper

    margins = np.asarray(raw["margins"], dtype=np.float64)
    shifts = {k: np.asarray(v, dtype=np.float64) for k, v in raw["shifts"].items()}
    n = len(margins)
    tau: dict[str, float] = {}
    rate: dict[str, float] = {}
    share: dict[str, float] = {}
    max_shift: dict[str, float] = {}
    for tier, kinds in TIERS.items():
        worst = np.max(np.stack([-shifts[k] for k in kinds]), axis=0)  # per position, the largest pull
        max_shift[tier] = float(max(worst.max(), 0.0))
        flips = RHO * worst > margins
        best = None
        for t in TAU_GRID:
            high = margins > t
            h = float(high.mean())
            if h < MIN_HIGH_SHARE:
                break
            p = clopper_pearson_upper(int((flips & high).sum()), int(high.sum()))
            if best is None or p < best[0]:
                best = (p, t, h)
        if best is None:  # hardly any confident position: the greedy test cannot speak under this tier
            best = (1.0, TAU_GRID[-1], float((margins > TAU_GRID[-1]).mean()))
        rate[tier], tau[tier], share[tier] = best
    return Calibration(
        tau,
        max_shift,
        n,
        rate,
        share,
        {k: float(v) for k, v in raw["rms_text"].items()},
        {k: float(v) for k, v in raw["rms_generated"].items()},
        RHO,
        {t: list(k) for t, k in TIERS.items()},
    )


class BaseReference:
    """Tokenizer facts shared by local and signature references."""

    label: str
    tokenizer: Any

    def encode(self, text: str) -> list[int]:
        return list(self.tokenizer(text)["input_ids"])

    def encode_plain(self, text: str) -> list[int]:
        return list(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    @property
    def has_chat_template(self) -> bool:
        return bool(getattr(self.tokenizer, "chat_template", None))

    def chat_prompt_ids(self, messages: list[dict[str, str]]) -> list[int]:
        text = self.tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
        return self.encode_plain(text)

    def prompt_ids(self, prompt: str, chat: bool) -> list[int]:
        return self.chat_prompt_ids([{"role": "user", "content": prompt}]) if chat else self.encode(prompt)

    def token_text(self, token_id: int) -> str:
        return self.tokenizer.decode([token_id], skip_special_tokens=False)

    def decode(self, ids: list[int]) -> str:
        return self.tokenizer.decode(ids, skip_special_tokens=True)

    def roundtrip(self, text: str) -> str:
        return self.decode(self.encode_plain(text))

    @cached_property
    def string_to_id(self) -> dict[str, int]:
        """Token text -> id for texts that name exactly one id (servers report tokens as text)."""
        seen: dict[str, int] = {}
        ambiguous: set[str] = set()
        for i in range(len(self.tokenizer)):
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


class FreshDraws:
    """Probe items drawn afresh from the seeded pool for each run: for references that can score any
    text (local weights, a trusted endpoint); a signature draws among its own items instead."""

    def draw(self, kind: str, seed: int, n: int, *, chat: bool = False) -> list[Any]:
        from harness.fingerprint import pool

        return pool.draw(kind, seed, n, chat=chat)

    def copy_items(
        self, seed: int, index: int, must_include: tuple[str, ...], *, chat: bool = False
    ) -> tuple[str, ...]:
        from harness.fingerprint import pool

        return pool.copy_items(pool._rng("copy", seed, index), must_include)


def _load_tokenizer(label: str, path: Path) -> Any:
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(path)
    except Exception as e:  # transformers raises OSError/ValueError/KeyError for unusable folders
        raise ReferenceError(f"--reference {label}: no usable tokenizer in {path}: {e}") from e


def _state_key(path: Path) -> tuple:
    """Directory plus the size and mtime of its files: a rewritten model is a different reference."""
    if not path.is_dir():
        return (str(path),)
    return (
        str(path.resolve()),
        *sorted((p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in path.iterdir() if p.is_file()),
    )


def load_reference(reference: str | Path) -> Any:
    """A ``LocalReference`` (transformers directory, or ``smollm2``) or a ``SignatureReference``.

    One process keeps one reference per directory state, so repeated runs (an audit, a floor
    measurement, the tests) load weights and compute each reference result only once.
    """
    from harness.models.smollm2 import resolve_model_path

    label = str(reference)
    path = Path(resolve_model_path(label))
    if not path.exists():
        raise ReferenceError(f"--reference {label}: {path} does not exist")
    if not path.is_dir():
        raise ReferenceError(
            f"--reference {label}: {path} is a file; give a transformers directory (config.json, "
            "weights, tokenizer files) or a signature directory"
        )
    key = _state_key(path)
    cached = _LOADED.get(key)
    if cached is not None:
        return cached
    if (path / SIGNATURE_FILE).is_file():
        from harness.fingerprint.signature import SignatureReference

        ref: Any = SignatureReference.open(label, path)
    else:
        ref = LocalReference(label, path)
    _LOADED[key] = ref
    return ref


# Kept for callers of v1 (``Reference.load``).
class Reference:
    load = staticmethod(load_reference)


def _digest_ids(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, separators=(",", ":")).encode()).hexdigest()[:32]


class LocalReference(FreshDraws, BaseReference):
    """A transformers directory on this machine: every reference result is computed here."""

    kind = "local"

    def __init__(self, label: str, path: Path):
        self.label = label
        self.path = path
        self.tokenizer = _load_tokenizer(label, path)
        self.has_weights = (path / "config.json").is_file() and any(
            p.suffix in WEIGHT_SUFFIXES for p in path.iterdir()
        )
        self._model: Any = None
        self._memo: dict[str, Any] = {}

    @property
    def can_generate(self) -> bool:
        return self.has_weights

    # ---------------------------------------------------------------------- loading ----

    def _dtype(self) -> Any:
        """float32 when that copy fits comfortably in RAM, else the checkpoint's stored dtype."""
        import os

        import torch

        size = sum(p.stat().st_size for p in self.path.iterdir() if p.suffix in WEIGHT_SUFFIXES)
        config = json.loads((self.path / "config.json").read_text())
        stored = str(config.get("torch_dtype") or config.get("dtype") or "float32")
        bytes_per = {"float32": 4, "bfloat16": 2, "float16": 2}.get(stored, 4)
        f32_bytes = size * 4 / bytes_per
        try:
            ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        except (ValueError, OSError):  # pragma: no cover - non-POSIX
            ram = 16 << 30
        if f32_bytes < F32_RAM_SHARE * ram:
            return torch.float32
        return getattr(torch, stored, torch.bfloat16)

    @property
    def model(self) -> Any:
        if not self.has_weights:
            raise ReferenceError(f"--reference {self.label}: {self.path} has a tokenizer but no weights")
        if self._model is None:
            import torch
            from transformers import AutoModelForCausalLM

            try:
                self._model = AutoModelForCausalLM.from_pretrained(
                    self.path, dtype=self._dtype(), low_cpu_mem_usage=True
                )
            except Exception as e:
                raise ReferenceError(
                    f"--reference {self.label}: could not load weights from {self.path}: {e}"
                ) from e
            device = "cuda" if torch.cuda.is_available() else "cpu"
            self._model.to(device).eval()
        return self._model

    @cached_property
    def eos_ids(self) -> frozenset[int]:
        ids: set[int] = set()
        sources: list[Any] = [self.tokenizer.eos_token_id]
        gen = self.path / "generation_config.json"
        if gen.is_file():
            sources.append(json.loads(gen.read_text()).get("eos_token_id"))
        for s in sources:
            if isinstance(s, int):
                ids.add(s)
            elif isinstance(s, list):
                ids.update(int(x) for x in s)
        return frozenset(ids)

    @cached_property
    def weights_sha256(self) -> str:
        h = hashlib.sha256()
        for p in sorted(self.path.iterdir()):
            if p.suffix in WEIGHT_SUFFIXES or p.name in ("config.json", "tokenizer.json"):
                h.update(p.name.encode())
                h.update(sha256_file(p).encode())
        return h.hexdigest()

    def provenance(self) -> dict[str, Any]:
        from harness.models.smollm2 import model_provenance

        record = model_provenance(self.path)
        record["reference"] = self.label
        record["kind"] = "local"
        record["has_weights"] = self.has_weights
        if self._model is not None:
            record["loaded_dtype"] = str(next(self._model.parameters()).dtype).removeprefix("torch.")
        return record

    # ------------------------------------------------------------------------ cache ----

    def _cache_path(self, key: str) -> Path:
        return harness_home() / "fingerprint" / "reference" / self.weights_sha256[:24] / f"{key}.json"

    def _cached(self, key: str, compute) -> Any:
        if key in self._memo:
            return self._memo[key]
        path = self._cache_path(key)
        if path.is_file():
            value = json.loads(path.read_text())
        else:
            value = compute()
            from harness.records.files import atomic_write_text

            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_text(path, json.dumps(value, separators=(",", ":")))
        self._memo[key] = value
        return value

    # --------------------------------------------------------------------- forward ----

    def _forward(self, seqs: list[list[int]], model: Any, ref_top1: list[np.ndarray] | None = None):
        """Per sequence: observed-token logprobs (n-1), top-1 ids (n), margins (n), and with ``ref_top1``
        the gap between that token and the best other one (n). Reduced at once: no [n, vocab] is kept."""
        import torch

        device = next(model.parameters()).device
        out: list[dict[str, np.ndarray]] = [dict() for _ in seqs]
        order = sorted(range(len(seqs)), key=lambda i: len(seqs[i]))
        with torch.inference_mode():
            for start in range(0, len(order), 4):
                idx = order[start : start + 4]
                width = max(len(seqs[i]) for i in idx)
                ids = torch.zeros((len(idx), width), dtype=torch.long)
                mask = torch.zeros((len(idx), width), dtype=torch.long)
                for row, i in enumerate(idx):
                    ids[row, : len(seqs[i])] = torch.tensor(seqs[i])
                    mask[row, : len(seqs[i])] = 1
                logits = model(input_ids=ids.to(device), attention_mask=mask.to(device)).logits.float()
                lps = torch.log_softmax(logits, dim=-1)
                for row, i in enumerate(idx):
                    n = len(seqs[i])
                    lp = lps[row, :n]
                    top2 = torch.topk(lp, 2, dim=-1)
                    obs = lp[:-1].gather(1, ids[row, 1:n, None].to(device))
                    res = {
                        "obs": obs[:, 0].cpu().double().numpy(),
                        "rank": (lp[:-1] > obs).sum(dim=-1).cpu().numpy(),
                        "top1": top2.indices[:, 0].cpu().numpy(),
                        "margin": (top2.values[:, 0] - top2.values[:, 1]).cpu().double().numpy(),
                    }
                    if ref_top1 is not None:
                        t1 = torch.as_tensor(ref_top1[i], device=device).long()
                        v1 = lp.gather(1, t1[:, None])[:, 0]
                        others = lp.scatter(1, t1[:, None], float("-inf")).max(dim=-1).values
                        res["gap"] = (v1 - others).cpu().double().numpy()
                    out[i] = res
                del logits, lps
        return out

    def token_logprobs(self, ids: list[int]) -> list[float]:
        return self._scores(ids)["obs"]

    def token_ranks(self, ids: list[int]) -> list[int]:
        """Rank under the reference of each observed token (0 = its most likely token)."""
        return self._scores(ids)["rank"]

    def _scores(self, ids: list[int]) -> dict[str, list]:
        def compute() -> dict[str, list]:
            f = self._forward([ids], self.model)[0]
            return {"obs": f["obs"].tolist(), "rank": [int(r) for r in f["rank"]]}

        return self._cached("scores-" + _digest_ids(ids), compute)

    def greedy(self, prompt_ids: list[int], max_new: int) -> GreedyPath:
        key = "greedy-" + _digest_ids(prompt_ids, max_new)
        return GreedyPath.from_dict(self._cached(key, lambda: self._greedy(prompt_ids, max_new).to_dict()))

    def _greedy(self, prompt_ids: list[int], max_new: int) -> GreedyPath:
        import torch

        model = self.model
        device = next(model.parameters()).device
        ids: list[int] = []
        margins: list[float] = []
        lps: list[float] = []
        stopped = False
        with torch.inference_mode():
            out = model(input_ids=torch.tensor([prompt_ids], device=device), use_cache=True)
            for step in range(max_new):
                lp = torch.log_softmax(out.logits[0, -1].float(), dim=-1)
                top2 = torch.topk(lp, 2)
                tok = int(top2.indices[0])
                margins.append(float(top2.values[0] - top2.values[1]))
                if tok in self.eos_ids:
                    stopped = True
                    break
                ids.append(tok)
                lps.append(float(top2.values[0]))
                if step + 1 == max_new:
                    break
                out = model(
                    input_ids=torch.tensor([[tok]], device=device),
                    past_key_values=out.past_key_values,
                    use_cache=True,
                )
        texts = _token_texts(self.tokenizer, ids)
        return GreedyPath(tuple(prompt_ids), tuple(ids), tuple(texts), tuple(margins), tuple(lps), stopped)

    # ------------------------------------------------------------------ calibration ----

    def calibration(self) -> Calibration:
        from harness.fingerprint import pool

        key = f"calibration-raw-v{CALIBRATION_VERSION}-pool{pool.POOL_VERSION}-{CALIBRATION_SEED}"

        def compute() -> dict[str, Any]:
            from harness.fingerprint.numerics import VARIANTS, numerics_variant

            seqs = [self.encode(it.text) for it in pool.draw("natural", CALIBRATION_SEED, CALIBRATION_TEXTS)]
            n_texts = len(seqs)
            starts = [1] * n_texts  # first row of each sequence whose observed token is generated
            for chat in (False, True):
                if chat and not self.has_chat_template:
                    continue
                for it in pool.draw("prompt", CALIBRATION_SEED, CALIBRATION_PROMPTS // 2, chat=chat):
                    p = self.prompt_ids(it.text, chat)
                    g = self.greedy(p, CALIBRATION_NEW_TOKENS)
                    seqs.append(list(p) + list(g.ids))
                    starts.append(len(p))
            ref = self._forward(seqs, self.model)
            top1 = [r["top1"] for r in ref]
            shifts: dict[str, list[float]] = {}
            rms_text: dict[str, float] = {}
            rms_gen: dict[str, float] = {}
            for kind in VARIANTS:
                with numerics_variant(self.model, kind) as m:
                    var = self._forward(seqs, m, ref_top1=top1)
                shifts[kind] = [
                    round(float(x), 4) for v, r in zip(var, ref, strict=True) for x in v["gap"] - r["margin"]
                ]
                ds = [v["obs"] - r["obs"] for v, r in zip(var, ref, strict=True)]
                text_d = np.concatenate(ds[:n_texts])
                gen_d = np.concatenate(
                    [d[s - 1 :] for d, s in zip(ds[n_texts:], starts[n_texts:], strict=True)] or [text_d]
                )
                rms_text[kind] = float(np.sqrt(np.mean(text_d**2)))
                rms_gen[kind] = float(np.sqrt(np.mean(gen_d**2))) if len(gen_d) else rms_text[kind]
            margins = [round(float(x), 4) for r in ref for x in r["margin"]]
            return {"margins": margins, "shifts": shifts, "rms_text": rms_text, "rms_generated": rms_gen}

        return calibration_from_raw(self._cached(key, compute))


def _token_texts(tokenizer: Any, ids: list[int]) -> list[str]:
    """Per token, the text it adds to the decoding of the tokens before it (multi-byte safe)."""
    texts = []
    prev = ""
    for i in range(len(ids)):
        cur = tokenizer.decode(ids[: i + 1], skip_special_tokens=True)
        if cur.startswith(prev):
            texts.append(cur[len(prev) :])
        else:  # a partial UTF-8 sequence completed: attribute the change to this token
            texts.append(cur[len(prev) :] if len(cur) > len(prev) else "")
        prev = cur
    # make the concatenation equal the full decode exactly
    full = tokenizer.decode(ids, skip_special_tokens=True)
    if "".join(texts) != full:
        texts = [tokenizer.decode([i], skip_special_tokens=True) for i in ids]
        if "".join(texts) != full:
            texts[-1:] = [full[len("".join(texts[:-1])) :]] if texts else []
    return texts
