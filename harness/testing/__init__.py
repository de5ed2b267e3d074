"""Test doubles for harness's own checks: NOT part of the product.

The endpoint zoo (``zoo.py``) is the evidence base that makes the fingerprint's false-alarm rate and
power measurable without circularity: real OpenAI-compatible servers that serve the claimed weights
honestly (other dtypes, llama.cpp quantisations made *from* the float32 weights, other thread counts,
chunked prefill, batched decoding, relays that normalise text or degrade the API) and substitutes
(fine-tunes, a pruned copy, other models sharing the tokenizer, other tokenizers, word-filtering relays).

Every model artefact is built offline from SmolLM2-135M-Instruct, deterministic from its recipe and
seed, cached under ``$HARNESS_HOME/zoo`` (never in git) with its provenance (recipe, inputs' and outputs'
sha256, package versions, build seconds). Heavy imports happen inside functions.

The other doubles: ``variants.py`` (tiny random-weight Llamas with their own tokenizer, perturbed and
fine-tuned copies: the one tiny-model builder the tests and ``scripts/gpu_smoke.py`` share),
``proxy_server.py`` (a relay claiming one model and serving another), ``faulty_server.py`` (an endpoint
broken on purpose) and ``servers.py`` (launching llama-cpp-python's server and the relay).
"""

from harness.testing.artifacts import Artifact, Recipe, build_cached, zoo_dir

__all__ = ["Artifact", "Recipe", "build_cached", "zoo_dir"]
