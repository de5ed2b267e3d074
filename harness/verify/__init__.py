"""Verify claimed benchmark scores: lm-eval runs, per-item records, statistics and verdicts."""

from harness._lazy import lazy_exports

# public name -> submodule; imported on first use (see harness/_lazy.py)
_EXPORTS = {
    "Claim": "claims",
    "ClaimsError": "claims",
    "ClaimsFile": "claims",
    "Setting": "claims",
    "VerifyError": "runner",
    "load_claims": "claims",
    "rescore": "records",
    "run_verify": "runner",
}
__all__ = sorted(_EXPORTS)
__getattr__ = lazy_exports(__name__, _EXPORTS)
