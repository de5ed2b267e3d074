"""Reference signatures: everything a fingerprint needs from the claimed weights, computed once.

A 70B claim cannot be checked by loading 70B parameters on a laptop. ``write_signature`` runs where
the weights are (a GPU server, or any machine that can load them) and writes a directory:

* the tokenizer files (the tokenizer tests need only these);
* ``signature.json.gz``: the calibration (margin thresholds per numerics tier, per-position flip
  bound, honest log-probability bands), and for a draw of probe items from the pool (``--items`` per
  kind, with the signature's own seed) the reference's results: token log-probabilities of natural and
  vendor texts (echo tests), greedy paths with margins of completion and chat prompts and of copy lists
  (greedy and output-filter tests).

``SignatureReference`` serves those results through the same interface as ``LocalReference``; a run
draws its probes among the signature's items with the run's ``--seed``. A request for an item the
signature does not hold raises ``ReferenceError`` rather than guessing. Keep a signature private: a
provider who sees its items could special-case them (the pool is large so that a fresh signature is a
fresh draw).
"""

from __future__ import annotations

import gzip
import json
import random
import shutil
from pathlib import Path
from typing import Any

from harness.fingerprint import pool
from harness.fingerprint.reference import (
    SIGNATURE_FILE,
    BaseReference,
    Calibration,
    GreedyPath,
    ReferenceError,
    _digest_ids,
    _load_tokenizer,
    load_reference,
)

SIGNATURE_VERSION = 1
TOKENIZER_FILES = ("tokenizer", "special_tokens", "chat_template", "generation_config")


def _copy_tokenizer(src: Path, dst: Path) -> None:
    for p in src.iterdir():
        if p.is_file() and (p.name.startswith(TOKENIZER_FILES) or p.suffix == ".jinja"):
            shutil.copy2(p, dst / p.name)


def write_signature(
    reference: str | Path, out: str | Path, *, items: int = 256, seed: int = 0, progress: bool = False
) -> Path:
    """Compute and write a signature directory for ``reference`` (a local transformers directory)."""
    from harness.fingerprint.probes.base import COPY_MAX_TOKENS, IDENTITY_QUESTION
    from harness.fingerprint.probes.greedy import MAX_NEW

    ref = load_reference(reference)
    if getattr(ref, "kind", "") != "local" or not ref.has_weights:
        raise ReferenceError(
            f"--reference {reference}: a signature needs a transformers directory with weights"
        )
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    _copy_tokenizer(ref.path, out)
    cal = ref.calibration()
    lp: dict[str, list[float]] = {}
    ranks: dict[str, list[int]] = {}
    paths: dict[str, dict[str, Any]] = {}
    index: dict[str, list[str]] = {}
    texts: dict[str, str] = {}

    def note(msg: str) -> None:
        if progress:
            print(msg, flush=True)

    for kind in ("natural", "vendor"):
        for it in pool.draw(kind, seed, items):
            ids = ref.encode(it.text)
            lp[_digest_ids(ids)] = [round(v, 5) for v in ref.token_logprobs(ids)]
            ranks[_digest_ids(ids)] = ref.token_ranks(ids)
            key = f"{kind}:{seed}:{it.index}"
            index.setdefault(kind, []).append(key)
            texts[key] = it.text
        note(f"{kind}: {items} texts scored")
    for chat in (False, True):
        if chat and not ref.has_chat_template:
            continue
        name = "prompt_chat" if chat else "prompt"
        for it in pool.draw("prompt", seed, items, chat=chat):
            p = ref.prompt_ids(it.text, chat)
            paths[_digest_ids(p, MAX_NEW)] = ref.greedy(p, MAX_NEW).to_dict()
            key = f"{name}:{seed}:{it.index}"  # chat and completion prompts share pool indices
            index.setdefault(name, []).append(key)
            texts[key] = it.text
        note(f"{name}: {items} greedy paths")
        name = "copy_chat" if chat else "copy"
        for i in range(items):
            its = pool.copy_items(pool._rng("copy", seed, i))
            prompt = pool.copy_chat_prompt(its) if chat else pool.copy_prompt(its)
            p = ref.prompt_ids(prompt, chat)
            paths[_digest_ids(p, COPY_MAX_TOKENS)] = ref.greedy(p, COPY_MAX_TOKENS).to_dict()
            key = f"{name}:{seed}:{i}"
            index.setdefault(name, []).append(key)
            texts[key] = json.dumps(its)
        note(f"{name}: {items} copy lists")
        q = IDENTITY_QUESTION if chat else f"Q: {IDENTITY_QUESTION}\nA:"
        p = ref.prompt_ids(q, chat)
        paths[_digest_ids(p, 32)] = ref.greedy(p, 32).to_dict()
    payload = {
        "schema": "harness.fingerprint.signature",
        "signature_version": SIGNATURE_VERSION,
        "pool_version": pool.POOL_VERSION,
        "seed": seed,
        "reference": ref.provenance(),
        "eos_ids": sorted(ref.eos_ids),
        "calibration": cal.to_dict(),
        "index": index,
        "texts": texts,
        "token_logprobs": lp,
        "token_ranks": ranks,
        "greedy": paths,
    }
    with gzip.open(out / SIGNATURE_FILE, "wt", encoding="utf-8") as fh:
        json.dump(payload, fh, separators=(",", ":"))
    return out


class SignatureReference(BaseReference):
    """A reference read from a signature directory: no weights, results looked up."""

    kind = "signature"
    has_weights = False
    can_generate = True

    def __init__(self, label: str, path: Path, payload: dict[str, Any]):
        self.label = label
        self.path = path
        self.tokenizer = _load_tokenizer(label, path)
        self.payload = payload
        self.eos_ids = frozenset(payload.get("eos_ids") or [])

    @classmethod
    def open(cls, label: str, path: Path) -> SignatureReference:
        try:
            with gzip.open(path / SIGNATURE_FILE, "rt", encoding="utf-8") as fh:
                payload = json.load(fh)
        except (OSError, json.JSONDecodeError) as e:
            raise ReferenceError(
                f"--reference {label}: {path / SIGNATURE_FILE} is not a readable signature: {e}"
            ) from e
        if payload.get("schema") != "harness.fingerprint.signature":
            raise ReferenceError(
                f"--reference {label}: {path / SIGNATURE_FILE} is not a fingerprint signature"
            )
        if payload.get("pool_version") != pool.POOL_VERSION:
            raise ReferenceError(
                f"--reference {label}: the signature was made with probe pool v{payload.get('pool_version')}, "
                f"this harness draws from v{pool.POOL_VERSION}; recompute it with `harness fingerprint-signature`"
            )
        return cls(label, path, payload)

    def provenance(self) -> dict[str, Any]:
        return {
            "reference": self.label,
            "kind": "signature",
            "path": str(self.path.resolve()),
            "signature_seed": self.payload.get("seed"),
            "signed_reference": self.payload.get("reference"),
        }

    def calibration(self) -> Calibration:
        return Calibration.from_dict(self.payload["calibration"])

    def token_logprobs(self, ids: list[int]) -> list[float]:
        got = self.payload["token_logprobs"].get(_digest_ids(ids))
        if got is None:
            raise ReferenceError(f"--reference {self.label}: the signature holds no scores for this text")
        return got

    def token_ranks(self, ids: list[int]) -> list[int]:
        got = self.payload.get("token_ranks", {}).get(_digest_ids(ids))
        if got is None:
            raise ReferenceError(f"--reference {self.label}: the signature holds no scores for this text")
        return got

    def greedy(self, prompt_ids: list[int], max_new: int) -> GreedyPath:
        got = self.payload["greedy"].get(_digest_ids(list(prompt_ids), max_new))
        if got is None:
            raise ReferenceError(
                f"--reference {self.label}: the signature holds no greedy path for this prompt"
            )
        return GreedyPath.from_dict(got)

    # ------------------------------------------------------------------------ drawing ----

    def draw(self, kind: str, seed: int, n: int, *, chat: bool = False) -> list[pool.Item]:
        """``n`` of the signature's items of ``kind``, chosen with ``seed`` (the run's seed)."""
        name = f"{kind}_chat" if chat and kind in ("prompt", "copy") else kind
        keys = list(self.payload["index"].get(name) or [])
        if not keys:
            raise ReferenceError(f"--reference {self.label}: the signature holds no {name} items")
        random.Random(f"{seed}:{name}").shuffle(keys)
        out = []
        for key in keys[:n]:
            _k, s, i = key.rsplit(":", 2)
            out.append(pool.Item(kind, int(s), int(i), self.payload["texts"][key]))
        return out

    def copy_items(
        self, seed: int, index: int, must_include: tuple[str, ...], *, chat: bool = False
    ) -> tuple[str, ...]:
        """A stored copy list, preferring one that names ``must_include`` (adaptive confirmation)."""
        name = "copy_chat" if chat else "copy"
        keys = list(self.payload["index"].get(name) or [])
        if not keys:
            raise ReferenceError(f"--reference {self.label}: the signature holds no copy lists")
        random.Random(f"{seed}:{name}:{index}").shuffle(keys)
        lists = [tuple(json.loads(self.payload["texts"][k])) for k in keys]
        for items in lists:
            if all(w in items for w in must_include[:1]):
                return items
        return lists[0]
