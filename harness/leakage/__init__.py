"""Leakage scan: which test items does a training corpus contain? (`harness scan`)

An index of the test sets' word n-grams (`index`) is built once; training records are streamed shard by
shard (`inputs`, `readers`) through a pure matching core (`matcher`, `core`) on an engine (`engines`:
local processes or Ray), and the per-shard results are merged (`results`) into one record, `leakage.json`,
from which every other output is rendered (`report`). docs/scan.md describes the rule and the outputs.
"""

from harness._lazy import lazy_exports

# public name -> submodule; imported on first use (see harness/_lazy.py)
_EXPORTS = {
    "FieldPathError": "fields",
    "ResumeError": "checkpoint",
    "ScanFaultError": "readers",
    "ScanInputError": "inputs",
    "TestIndex": "index",
    "build_index": "index",
    "load_index": "index",
    "match_texts": "matcher",
    "normalize": "normalize",
    "run_scan": "scan",
    "words": "normalize",
}
__all__ = sorted(_EXPORTS)
__getattr__ = lazy_exports(__name__, _EXPORTS)
