"""Does an endpoint serve the weights it claims? Probes, calibrated statistics, one verdict.

Public surface: ``run_fingerprint`` (writes fingerprint.json + fingerprint.md, returns the record) and the
errors it raises for unusable arguments. Everything else is internal; docs/fingerprint.md has the method.
"""

from harness.fingerprint.client import EndpointError
from harness.fingerprint.reference import ReferenceError
from harness.fingerprint.runner import DEFAULT_BUDGET, run_fingerprint

__all__ = ["DEFAULT_BUDGET", "EndpointError", "ReferenceError", "run_fingerprint"]
