"""Does an endpoint serve the weights it claims? Probes, calibrated statistics, one verdict.

Public surface: ``run_fingerprint`` (writes fingerprint.json + fingerprint.md, returns the record) and the
errors it raises for unusable arguments. Everything else is internal; docs/fingerprint.md has the method.
"""

from harness._lazy import lazy_exports

# public name -> submodule; imported on first use (see harness/_lazy.py)
_EXPORTS = {
    "DEFAULT_BUDGET": "runner",
    "EndpointError": "client",
    "ReferenceError": "reference",
    "run_fingerprint": "runner",
}
__all__ = sorted(_EXPORTS)
__getattr__ = lazy_exports(__name__, _EXPORTS)
