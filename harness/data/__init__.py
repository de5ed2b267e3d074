"""Benchmark data layer: one spec per benchmark (``benchmarks/*.toml``), one loader for every source,
stable item ids."""

from harness._lazy import lazy_exports

# public name -> submodule; imported on first use (see harness/_lazy.py)
_EXPORTS = {
    "BENCHMARKS": "registry",
    "BenchmarkSet": "items",
    "BenchmarkSpec": "registry",
    "DataError": "errors",
    "Item": "items",
    "MMLU_SUBJECTS": "registry",
    "SpecError": "registry",
    "benchmark_names": "registry",
    "default_scan_set": "registry",
    "SourceInfo": "items",
    "get_spec": "registry",
    "load_benchmark": "sources",
}
__all__ = sorted(_EXPORTS)
__getattr__ = lazy_exports(__name__, _EXPORTS)
