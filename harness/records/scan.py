"""``ScanRecord``: the typed model of ``leakage.json``, the record ``harness scan`` writes.

It lives in ``harness.records`` (pydantic only: no numpy, no pyarrow) so that every reader (the audit,
``harness verify --clean-from``, a user's script) can validate a scan record without importing the scan.
``harness.leakage.report`` writes the record through ``write_scan_record``; ``read_scan_record`` is the
way back in. Both validate; a record that lacks a key or holds a wrong type is refused with the field
named (``harness.records.io``).

The model describes, key for key, the JSON the scan wrote before it had a model, plus the shared header
(``schema``, ``schema_version``; ``status``, ``headline`` and ``timing`` it already had). Nothing is
renamed. Keys the scan writes only sometimes are optional: ``profile`` (``--profile``), ``rephrased``
(``--rephrased``), an item's ``where``/``excerpt`` (only when a place was recorded). A scan that could
not run writes a short record (status ``failed``, ``error``, ``config.paths``), also a ``ScanRecord``.
Free-form parts stay dicts: a benchmark's data ``source`` (``harness.data``), the index fingerprint's
inputs. Numbers are ``float | int`` so that an integer written as an integer is read back as one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from harness.records.header import RecordHeader
from harness.records.io import read_record, validate_record, write_record

SCHEMA = "harness.scan"
SCHEMA_VERSION = 1

Number = float | int  # a JSON number, kept as written
Fraction = Annotated[Number, Field(ge=0.0, le=1.0)]
Count = Annotated[int, Field(ge=0)]
ScanStatus = Literal["clean", "leak", "incomplete", "failed"]


class _Part(BaseModel):
    """Every part of the record: unknown keys are refused (the model is the contract)."""

    model_config = ConfigDict(extra="forbid", strict=True, protected_namespaces=())


class CompletenessRecord(_Part):
    """What was not read, so not checked: a scan never calls CLEAN what it did not read."""

    complete: bool
    records_skipped_fraction: Fraction
    max_skipped: Fraction
    not_read: list[str]


class BenchmarkCounts(_Part):
    """One scanned benchmark: its evaluation split and how many of its items were found."""

    split: str
    items: Count
    dirty: Count
    matched: Count
    undetectable: Count
    clean: Count
    rephrased: Count | None = None  # under --rephrased only


class Place(_Part):
    """Where in the training data a match was found (file, record number, line when known, field)."""

    file: str
    record: int | None
    line: int | None
    field: str | None
    offset: int | None


class ItemRecord(_Part):
    """A matched test item (dirty or not); ``where`` onwards only when a place was recorded."""

    item_id: str
    benchmark: str
    dirty: bool
    overlap: Fraction
    longest_match: Count
    records: Count
    dirty_records: Count
    where: Place | None = None
    matched_field: str | None = None
    matched_words: int | None = None
    similarity: Number | None = None
    excerpt: str | None = None
    excerpt_offset: int | None = None


class RephrasedItem(_Part):
    """An item the rephrase stage found (not found verbatim), with its best score and place."""

    item_id: str
    benchmark: str
    score: Number
    numbers_in_order: Number | None  # GSM8K: longest common subsequence of the numbers, as a fraction
    numbers_present: bool | None
    shared_words: Count
    records: Count
    where: Place
    excerpt: str
    excerpt_offset: int


class Example(_Part):
    file: str
    line: int | None
    record: int | None
    detail: str


class ReasonCount(_Part):
    """Skipped (or repaired) records of one reason: the full count and the first examples."""

    count: Count
    examples: list[Example]
    examples_in_skipped_jsonl: Count | None = None  # set for skipped reasons once skipped.jsonl is written


class FileFault(_Part):
    file: str
    reason: str
    line: int | None
    record: int | None
    detail: str


class PerFile(_Part):
    file: str
    format: str
    compression: str | None
    bytes: Count
    records_read: Count
    records_skipped: Count
    decoded_with_replacement: Count
    file_faults: Count


class AccountingRecord(_Part):
    """Everything read, skipped, repaired or ignored, per file and in total (nothing is lost silently)."""

    files: Count
    bytes_read: Count
    bytes_decoded: Count
    records_read: Count
    records_skipped: Count
    blank_lines: Count
    decoded_with_replacement: Count
    skipped_reasons: dict[str, ReasonCount]
    repairs: dict[str, ReasonCount]
    file_faults: list[FileFault]
    files_ignored: list[str]
    files_empty: list[str]
    per_file: list[PerFile]


class RephraseConfig(_Part):
    """The rephrase stage's rule and thresholds (``harness.leakage.rephrase.rephrase_config``)."""

    rule_version: int
    max_df: Number
    min_shared: Number
    min_share: Number
    min_rare: Number
    rare_df: Number
    score_alone: Number
    share_alone: Number
    score_with_numbers: Number
    min_numbers: Number
    window_factor: Number


class ScanConfig(_Part):
    """The settings that shape the results (same config and inputs: same record, but for execution/timing)."""

    paths: list[str]
    benchmarks: list[str]
    ngram: int
    floor: int
    fields: list[str] | None
    max_record_bytes: int
    max_skipped: Fraction
    profile: bool
    rephrased: RephraseConfig | Literal[False]
    companion_gap: int
    dirty_rule: str


class FailedConfig(_Part):
    """A failed scan records only what it was asked to read."""

    paths: list[str]


class IndexBenchmark(_Part):
    split: str
    items: Count
    content_sha256: str | None
    source: dict[str, Any] | None  # harness.data's description of where the test set came from


class IndexRecord(_Part):
    """The test-set index the corpus was matched against; its fingerprint names it exactly."""

    units: Count
    shared_units: Count
    window_lengths: list[int]
    segments: Count
    fingerprint: str
    hash_version: int
    benchmarks: dict[str, IndexBenchmark]


class ExecutionRecord(_Part):
    """Where and how the scan ran; may differ between runs of the same inputs (like ``timing``)."""

    engine: str
    workers: int
    core: str
    index: str  # "given", "cache", "built", "built and cached"
    shards: Count
    shards_resumed: Count
    versions: dict[str, str | None]


class ScanTiming(_Part):
    """Wall-clock facts: the only part (with ``execution``) that differs between runs of the same inputs."""

    started_at: str
    index_seconds: Number
    scan_seconds: Number
    engine_start_seconds: Number
    seconds: Number
    shard_seconds: Number
    shard_cpu_seconds: Number
    words: Count


class Histogram(_Part):
    edges: list[Number]
    counts: list[Count]


class LengthProfile(_Part):
    mean: Number | None
    p1: Number | None
    p5: Number | None
    p25: Number | None
    p50: Number | None
    p75: Number | None
    p95: Number | None
    p99: Number | None
    histogram: Histogram


class RatioProfile(LengthProfile):
    sampled_records: Count
    sampled_bytes: Count


class ProfileSummary(_Part):
    records: Count
    bytes: Count
    exact_duplicates: Count
    exact_duplicate_rate: Fraction
    length_bytes: LengthProfile
    compression_ratio: RatioProfile


class FileProfile(ProfileSummary):
    file: str


class ProfileMethod(_Part):
    text: str
    compression: str
    duplicates: str
    quantiles: str


class ProfileRecord(_Part):
    """``--profile``: per file and overall record length, exact duplicates, compression ratio."""

    method: ProfileMethod
    overall: ProfileSummary
    per_file: list[FileProfile]


# Keys every scan that ran writes; a failed scan writes only the header, ``error`` and ``config``.
RAN_KEYS = ("completeness", "benchmarks", "items", "accounting", "index", "execution", "outputs")


class ScanRecord(RecordHeader):
    """``leakage.json``: the header, what was (not) read, per-benchmark counts, and every matched item."""

    model_config = ConfigDict(extra="forbid", strict=True, protected_namespaces=())

    schema_: Literal["harness.scan"] = Field(alias="schema")
    schema_version: Literal[1]
    status: ScanStatus
    timing: ScanTiming | dict[str, Any]  # empty ({}) for a scan that failed before it ran
    config: ScanConfig | FailedConfig
    error: str | None = None  # failed scans only
    completeness: CompletenessRecord | None = None
    benchmarks: dict[str, BenchmarkCounts] | None = None
    items: list[ItemRecord] | None = None
    accounting: AccountingRecord | None = None
    index: IndexRecord | None = None
    execution: ExecutionRecord | None = None
    outputs: dict[str, str] | None = None
    profile: ProfileRecord | None = None
    rephrased: list[RephrasedItem] | None = None

    @model_validator(mode="after")
    def _consistent(self) -> ScanRecord:
        if self.status == "failed":
            if self.error is None:
                raise ValueError("a failed scan record says why (error)")
            return self
        missing = [k for k in RAN_KEYS if getattr(self, k) is None]
        if missing:
            raise ValueError(f"a scan that ran lacks {missing}")
        if not isinstance(self.config, ScanConfig):
            raise ValueError("config: a scan that ran records its full config")
        if not isinstance(self.timing, ScanTiming):
            raise ValueError("timing: a scan that ran records its timing")
        assert self.benchmarks is not None and self.items is not None
        if sorted(self.benchmarks) != sorted(self.config.benchmarks):
            raise ValueError(
                f"benchmarks {sorted(self.benchmarks)} do not match config.benchmarks {self.config.benchmarks}"
            )
        unknown = sorted({i.benchmark for i in self.items} - set(self.benchmarks))
        if unknown:
            raise ValueError(f"items of benchmarks that were not scanned: {unknown}")
        if self.config.profile != (self.profile is not None):
            raise ValueError("profile: present exactly when config.profile is true")
        if (self.config.rephrased is not False) != (self.rephrased is not None):
            raise ValueError("rephrased: present exactly when config.rephrased is set")
        return self


def validate_scan_record(data: Any, where: str = "scan record") -> ScanRecord:
    """A scan record (dict or model) validated; a RecordValidationError names each bad field."""
    return validate_record(ScanRecord, data, where)


def write_scan_record(path: Path | str, data: Any) -> ScanRecord:
    """Validate and write ``leakage.json`` atomically (canonical JSON: sorted keys, no NaN)."""
    return write_record(path, ScanRecord, data)


def read_scan_record(path: Path | str) -> ScanRecord:
    """Read and validate a ``leakage.json``; readers use this, never guessed keys."""
    return read_record(path, ScanRecord)
