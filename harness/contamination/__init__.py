"""Model-side contamination: fresh twins of test items, memorisation tests and an inflation estimate."""

from harness._lazy import lazy_exports

# public name -> submodule; imported on first use (see harness/_lazy.py)
_EXPORTS = {
    "ContaminationError": "runner",
    "TwinSet": "twins",
    "check_solution": "gsm8k_twins",
    "make_twins": "twins",
    "run_contamination": "runner",
}
__all__ = sorted(_EXPORTS)
__getattr__ = lazy_exports(__name__, _EXPORTS)
