"""Verify claimed benchmark scores: lm-eval runs, per-item records, statistics and verdicts."""

from harness.verify.claims import Claim, ClaimsError, ClaimsFile, Setting, load_claims
from harness.verify.records import rescore
from harness.verify.runner import VerifyError, run_verify

__all__ = [
    "Claim",
    "ClaimsError",
    "ClaimsFile",
    "Setting",
    "VerifyError",
    "load_claims",
    "rescore",
    "run_verify",
]
