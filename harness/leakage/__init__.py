"""Leakage scan: which test items does a training corpus contain? (`harness scan`)

An index of the test sets' word n-grams (`index`) is built once; training records are streamed shard by
shard (`inputs`, `readers`) through a pure matching core (`matcher`, `core`) on an engine (`engines`:
local processes or Ray), and the per-shard results are merged (`results`) into one record, `leakage.json`,
from which every other output is rendered (`report`). docs/scan.md describes the rule and the outputs.
"""

from harness.leakage.checkpoint import ResumeError
from harness.leakage.fields import FieldPathError
from harness.leakage.index import TestIndex, build_index, load_index
from harness.leakage.inputs import ScanInputError
from harness.leakage.matcher import match_texts
from harness.leakage.normalize import normalize, words
from harness.leakage.readers import ScanFaultError
from harness.leakage.scan import DEFAULT_BENCHMARKS, run_scan

__all__ = [
    "DEFAULT_BENCHMARKS",
    "FieldPathError",
    "ResumeError",
    "ScanFaultError",
    "ScanInputError",
    "TestIndex",
    "build_index",
    "load_index",
    "match_texts",
    "normalize",
    "run_scan",
    "words",
]
