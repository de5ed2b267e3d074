"""The endpoint zoo: named honest endpoints and substitutes, each a recipe that builds and serves itself.

An ``Endpoint`` says what a server claims (always the reference's name), what it really serves
(``model``: the reference, a llama.cpp quantisation of it, a fine-tune, ...), how (``server``: our
transformers server, the numerics variant, llama-cpp-python's third-party server), and through which
relay (``relay``: API mode, text normalisation, output word filter). ``honest`` is the ground truth
the floor script scores against: an honest endpoint serves the claimed weights, so any ``mismatch`` is
a false alarm; a substitute serves something else (or tampers with generated text), so ``mismatch`` is
a detection and ``match`` a miss. ``klass`` groups endpoints for the tables.

Nothing here is derived from the fingerprint's own reference computations: quantisations come from
llama.cpp's converter and quantiser applied to the float32 weights, fine-tunes from torch optimisers on
GSM8K train text, numerics from real kernels. ``catalogue()`` is the default zoo; ``QUICK`` names a
small subset for smoke tests.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.testing.relays import RelayConfig

CLAIMED_NAME = "smollm2"
SERVER_KINDS = ("transformers", "numerics", "llama_cpp")


@dataclass(frozen=True)
class ModelSpec:
    """What weights an endpoint computes with: ``kind`` plus the builder's keyword arguments."""

    kind: str  # reference | quantised | f32_gguf | finetune | layer_removed | random_init | trained_tiny | other_tokenizer
    params: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> str:
        args = ", ".join(f"{k}={v}" for k, v in self.params.items())
        return f"{self.kind}({args})" if args else self.kind


@dataclass(frozen=True)
class Endpoint:
    name: str
    honest: bool
    klass: str
    model: ModelSpec
    server: str = "transformers"
    server_options: dict[str, Any] = field(default_factory=dict)
    relay: RelayConfig | None = None
    note: str = ""

    def __post_init__(self) -> None:
        if self.server not in SERVER_KINDS:
            raise ValueError(f"{self.name}: server must be one of {SERVER_KINDS}, got {self.server!r}")
        gguf_models = ("quantised", "f32_gguf")
        if (self.server == "llama_cpp") != (self.model.kind in gguf_models):
            raise ValueError(
                f"{self.name}: llama_cpp serves GGUF models (quantised, f32_gguf) and only those"
            )

    @property
    def precision(self) -> str | None:
        """The numerics tier the endpoint's arithmetic lies in, for an honest endpoint: ``16bit``
        (float32/bfloat16/float16 weights, any kernel), ``8bit`` (Q8_0), ``4bit`` (the 4-6-bit llama.cpp
        files), ``below-4bit`` (Q3_K_M, Q2_K); None for a substitute."""
        if not self.honest:
            return None
        if self.model.kind == "quantised":
            q = str(self.model.params.get("quant_type"))
            return "8bit" if q == "Q8_0" else ("4bit" if q in HONEST_QUANTS else "below-4bit")
        return "16bit"

    def within(self, tolerance: str) -> bool:
        """Whether an honest endpoint is honest under a claim of ``tolerance`` numerics (nested tiers)."""
        from harness.fingerprint.reference import TIERS

        order = (*TIERS, "below-4bit")  # the fingerprint's nested tiers, then what lies beyond them
        return self.precision is not None and order.index(self.precision) <= order.index(tolerance)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "honest": self.honest,
            "class": self.klass,
            "model": self.model.describe(),
            "server": self.server,
            "server_options": self.server_options,
            "relay": self.relay.to_dict() if self.relay else None,
            "note": self.note,
        }


@dataclass
class RunningEndpoint:
    """A served endpoint: the URL to fingerprint, the name it claims, and its artefacts' provenance."""

    endpoint: Endpoint
    base_url: str
    model: str
    artifacts: list[dict[str, Any]]


# ------------------------------------------------------------------------------ building ----


def build_model(spec: ModelSpec, reference_dir: Path) -> tuple[Path, list[dict[str, Any]]]:
    """Build (or reuse) the artefact for ``spec``; returns the path to serve and provenance records."""
    from harness.testing import quantisation, substitutes

    reference_dir = Path(reference_dir)
    p = dict(spec.params)
    if spec.kind == "reference":
        return reference_dir, [{"name": "reference", "path": str(reference_dir)}]
    if spec.kind == "quantised":
        art = quantisation.quantised_gguf(reference_dir, p["quant_type"])
        return art.file(".gguf"), [_summary(art)]
    if spec.kind == "f32_gguf":
        art = quantisation.f32_gguf(reference_dir)
        return art.file(".gguf"), [_summary(art)]
    builders = {
        "finetune": lambda: substitutes.finetune(reference_dir, **p),
        "layer_removed": lambda: substitutes.layer_removed(reference_dir, **p),
        "random_init": lambda: substitutes.random_init_same_tokenizer(reference_dir, **p),
        "trained_tiny": lambda: substitutes.trained_tiny_same_tokenizer(reference_dir, **p),
        "other_tokenizer": lambda: substitutes.other_tokenizer(**p),
    }
    if spec.kind not in builders:
        raise ValueError(f"unknown model kind {spec.kind!r}")
    art = builders[spec.kind]()
    return art.path, [_summary(art)]


def _summary(art) -> dict[str, Any]:
    return {
        "name": art.path.name,
        "path": str(art.path),
        "recipe": art.provenance["recipe"],
        "facts": art.provenance.get("facts", {}),
        "files": art.files,
        "bytes": art.size_bytes,
        "build_seconds": art.build_seconds,
    }


@contextlib.contextmanager
def serve_endpoint(ep: Endpoint, reference_dir: Path) -> Iterator[RunningEndpoint]:
    """Build what ``ep`` needs, start its server (and relay), yield it, and stop everything after."""
    from harness.models.server_process import serve_transformers, start_server
    from harness.testing.numerics_server import serve_numerics
    from harness.testing.relays import serve_relay
    from harness.testing.servers import serve_llama_cpp

    path, artifacts = build_model(ep.model, reference_dir)
    upstream_name = CLAIMED_NAME if ep.relay is None else "upstream"
    opts = dict(ep.server_options)
    with contextlib.ExitStack() as stack:
        if ep.server == "transformers":
            handle = serve_transformers(
                path, served_model_name=upstream_name, dtype=opts.get("dtype", "float32")
            )
        elif ep.server == "numerics":
            handle = serve_numerics(str(path), served_model_name=upstream_name, **opts)
        elif opts:  # llama.cpp with other threads / batch sizes
            handle = _serve_llama_cpp_with(path, upstream_name, opts, start_server)
        else:
            handle = serve_llama_cpp(path, served_model_name=upstream_name)
        stack.enter_context(handle)
        url = handle.base_url
        if ep.relay is not None:
            relay = serve_relay(
                url, upstream_model=upstream_name, served_model_name=CLAIMED_NAME, config=ep.relay
            )
            stack.enter_context(relay)
            url = relay.base_url
        yield RunningEndpoint(ep, url, CLAIMED_NAME, artifacts)


def _serve_llama_cpp_with(path: Path, name: str, opts: dict[str, Any], start_server):
    import sys

    from harness.models.server_process import PORT_PLACEHOLDER

    cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(path), "--host", "127.0.0.1"]
    cmd += ["--port", PORT_PLACEHOLDER, "--logits_all", "true", "--n_ctx", "2048", "--seed", "0"]
    cmd += ["--model_alias", name]
    for key in ("n_threads", "n_threads_batch", "n_batch", "n_ubatch"):
        if key in opts:
            cmd += [f"--{key}", str(opts[key])]
    return start_server(cmd, timeout=180)


# ----------------------------------------------------------------------------- catalogue ----

HONEST_QUANTS = ("Q8_0", "Q6_K", "Q5_K_M", "Q5_0", "Q4_K_M", "Q4_0", "Q4_1")
API_MODES_TESTED = ("prompt_token_logprobs", "generated_logprobs", "chat_logprobs", "no_logprobs")
REF = ModelSpec("reference")


def _ft(optimizer: str, lr: float, steps: int, seed: int = 0) -> ModelSpec:
    return ModelSpec("finetune", {"optimizer": optimizer, "lr": lr, "steps": steps, "seed": seed})


def catalogue() -> list[Endpoint]:
    """The default zoo (honest endpoints first). Names are stable: the floor's JSONL keys use them."""
    eps: list[Endpoint] = [
        Endpoint("fp32", True, "reference", REF, note="the reference weights, our transformers server"),
        Endpoint("bf16", True, "dtype", REF, server_options={"dtype": "bfloat16"}),
        Endpoint("fp16", True, "dtype", REF, server_options={"dtype": "float16"}),
        Endpoint("fp32-threads1", True, "serving-numerics", REF, "numerics", {"threads": 1}),
        Endpoint("fp32-prefill16", True, "serving-numerics", REF, "numerics", {"prefill_chunk": 16}),
        Endpoint("fp32-batch4", True, "serving-numerics", REF, "numerics", {"batch_rows": 4}),
        Endpoint("fp32-eager", True, "serving-numerics", REF, "numerics", {"attn": "eager"}),
        Endpoint(
            "bf16-batch4-prefill16",
            True,
            "serving-numerics",
            REF,
            "numerics",
            {"dtype": "bfloat16", "batch_rows": 4, "prefill_chunk": 16},
        ),
        Endpoint(
            "llama.cpp-f32",
            True,
            "llama.cpp",
            ModelSpec("f32_gguf"),
            "llama_cpp",
            note="the float32 weights converted by llama.cpp, served by llama-cpp-python",
        ),
    ]
    for q in HONEST_QUANTS:
        note = "trivial control: the reference weights already lie on the Q4_1 grid" if q == "Q4_1" else ""
        eps.append(
            Endpoint(
                f"llama.cpp-{q}",
                True,
                "quantisation",
                ModelSpec("quantised", {"quant_type": q}),
                "llama_cpp",
                note=note,
            )
        )
    eps += [
        Endpoint(
            "llama.cpp-Q8_0-threads1-nbatch8",
            True,
            "llama.cpp",
            ModelSpec("quantised", {"quant_type": "Q8_0"}),
            "llama_cpp",
            {"n_threads": 1, "n_threads_batch": 1, "n_batch": 8, "n_ubatch": 8},
        ),
        Endpoint(
            "llama.cpp-Q4_K_M-nbatch16",
            True,
            "quantisation",
            ModelSpec("quantised", {"quant_type": "Q4_K_M"}),
            "llama_cpp",
            {"n_batch": 16, "n_ubatch": 16},
        ),
        Endpoint(
            "fp32-relay-whitespace", True, "text-handling", REF, relay=RelayConfig(normalise="whitespace")
        ),
        Endpoint(
            "fp32-relay-decode-cleanup",
            True,
            "text-handling",
            REF,
            relay=RelayConfig(normalise="decode_cleanup"),
        ),
        Endpoint("fp32-relay-passthrough", True, "text-handling", REF, relay=RelayConfig()),
    ]
    for mode in API_MODES_TESTED:
        eps.append(Endpoint(f"fp32-mode-{mode}", True, f"mode:{mode}", REF, relay=RelayConfig(api_mode=mode)))
        eps.append(
            Endpoint(
                f"bf16-mode-{mode}",
                True,
                f"mode:{mode}",
                REF,
                server_options={"dtype": "bfloat16"},
                relay=RelayConfig(api_mode=mode),
            )
        )
    eps.append(
        Endpoint(
            "llama.cpp-Q4_K_M-mode-no_logprobs",
            True,
            "mode:no_logprobs",
            ModelSpec("quantised", {"quant_type": "Q4_K_M"}),
            "llama_cpp",
            relay=RelayConfig(api_mode="no_logprobs"),
        )
    )
    # Reported apart: aggressive quantisations are the same weights, but a buyer may disagree.
    eps += [
        Endpoint(
            f"llama.cpp-{q}",
            True,
            "aggressive-quantisation",
            ModelSpec("quantised", {"quant_type": q}),
            "llama_cpp",
        )
        for q in ("Q3_K_M", "Q2_K")
    ]
    # ------------------------------------------------------------------ substitutes ----
    finetunes = [
        ("sgd", 1e-3, 1),
        ("sgd", 1e-3, 10),
        ("adamw", 1e-5, 1),
        ("adamw", 1e-5, 10),
        ("adamw", 1e-4, 1),
        ("adamw", 1e-4, 3),
        ("adamw", 1e-4, 40),
        ("adamw", 1e-3, 10),
    ]
    for opt, lr, steps in finetunes:
        eps.append(
            Endpoint(f"ft-{opt}-lr{lr:g}-{steps}step", False, f"fine-tune ({opt})", _ft(opt, lr, steps))
        )
    big_ft = _ft("adamw", 1e-4, 40)
    small_ft = _ft("adamw", 1e-4, 3)
    for mode in API_MODES_TESTED:
        eps.append(
            Endpoint(
                f"ft-adamw-lr0.0001-40step-mode-{mode}",
                False,
                f"fine-tune, mode:{mode}",
                big_ft,
                relay=RelayConfig(api_mode=mode),
            )
        )
        eps.append(
            Endpoint(
                f"ft-adamw-lr0.0001-3step-mode-{mode}",
                False,
                f"fine-tune, mode:{mode}",
                small_ft,
                relay=RelayConfig(api_mode=mode),
            )
        )
    eps += [
        Endpoint(
            "ft-adamw-lr0.0001-40step-bf16",
            False,
            "fine-tune (adamw)",
            big_ft,
            server_options={"dtype": "bfloat16"},
            note="a fine-tune served in bf16",
        ),
        Endpoint("layer15-removed", False, "layer removed", ModelSpec("layer_removed", {"layer": 15})),
        Endpoint("layer29-removed", False, "layer removed", ModelSpec("layer_removed", {"layer": 29})),
        Endpoint(
            "random-init-same-tokenizer", False, "same tokenizer, other model", ModelSpec("random_init")
        ),
        Endpoint(
            "trained-tiny-same-tokenizer", False, "same tokenizer, other model", ModelSpec("trained_tiny")
        ),
        Endpoint("other-tokenizer", False, "other tokenizer", ModelSpec("other_tokenizer")),
        Endpoint(
            "fp32-filter-Claude",
            False,
            "word filter",
            REF,
            relay=RelayConfig(delete_generated=("Claude",)),
            note="deletes 'Claude' from generated text only; echo exact",
        ),
        Endpoint(
            "fp32-filter-Claude-no_logprobs",
            False,
            "word filter",
            REF,
            relay=RelayConfig(api_mode="no_logprobs", delete_generated=("Claude",)),
        ),
        Endpoint(
            "fp32-filter-Anthropic-OpenAI",
            False,
            "word filter",
            REF,
            relay=RelayConfig(delete_generated=("Anthropic", "OpenAI")),
        ),
    ]
    names = [e.name for e in eps]
    dupes = {n for n in names if names.count(n) > 1}
    if dupes:
        raise AssertionError(f"duplicate endpoint names: {sorted(dupes)}")
    return eps


QUICK = (
    "fp32",
    "bf16-mode-chat_logprobs",
    "fp32-relay-whitespace",
    "other-tokenizer",
    "ft-sgd-lr0.001-1step",
)


def select(names_or_globs: list[str] | None = None, *, quick: bool = False) -> list[Endpoint]:
    """Endpoints by exact name or fnmatch glob, in the patterns' order (all by default, ``QUICK`` with ``quick``)."""
    import fnmatch

    eps = catalogue()
    if quick:
        return [e for e in eps if e.name in QUICK]
    if not names_or_globs:
        return eps
    picked: list[Endpoint] = []  # in the order of the patterns (each pattern's matches in zoo order)
    for g in names_or_globs:
        picked += [e for e in eps if fnmatch.fnmatchcase(e.name, g) and e not in picked]
    unknown = [g for g in names_or_globs if not any(fnmatch.fnmatchcase(e.name, g) for e in eps)]
    if unknown:
        raise ValueError(f"no zoo endpoint matches {unknown}; known: {', '.join(e.name for e in eps)}")
    return picked
