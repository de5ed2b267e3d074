"""``VerifyRecord``: the typed model of ``verify.json``, the record ``harness verify`` writes.

It lives in ``harness.records`` rather than ``harness.verify`` so that every reader (the audit, the
report, a user's script) can validate a verify record by importing only this floor: pydantic, no
lm-eval, no scipy. ``harness.verify`` builds the record and writes it through ``write_verify_record``;
``read_verify_record`` is the way back in. Both validate; a record that lacks a key or holds a wrong
type is refused with the field named (``harness.records.io``).

The model describes the JSON verify has written since ``schema_version`` 2, key for key; nothing is
renamed. Fractions are in [0, 1]; a claimed ``value`` is in percent, as published. Numbers are
``float | int`` so that an integer written as an integer is read and rewritten as one. Free-form parts
stay dicts: lm-eval's own ``results``/``configs``, a backend's ``model_args`` and ``identity``, a
ceiling's ``details`` (each ceiling source documents its own).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from harness.records.header import RecordHeader
from harness.records.io import read_record, validate_record, write_record

SCHEMA = "harness.verify"
SCHEMA_VERSION = 2

Number = float | int  # a JSON number, kept as written
Fraction = Annotated[Number, Field(ge=0.0, le=1.0)]
VerdictLabel = Literal[
    "reproduced",
    "consistent",
    "below claim",
    "above claim",
    "implausible",
    "inconclusive",
    "setting not reproduced",
]


class _Part(BaseModel):
    """Every part of the record: unknown keys are refused (the model is the contract)."""

    model_config = ConfigDict(extra="forbid", strict=True, protected_namespaces=())


class SettingRecord(_Part):
    """How a benchmark was (or was claimed to be) run (``harness.verify.claims.Setting``)."""

    metric: str
    filter: str
    n_shot: int | None
    chain_of_thought: bool
    chat_template: bool
    max_gen_toks: int | None


class ClaimRecord(SettingRecord):
    benchmark: str
    value: Annotated[Number, Field(ge=0.0, le=100.0)]  # percent, as published
    source: str | None
    notes: str
    stated: list[str]  # setting keys the claims file states; the others were assumed
    decimals: int | None


class ClaimsRecord(_Part):
    path: str | None
    model: str | None
    notes: str
    claims: list[ClaimRecord]


class MeasurementRecord(_Part):
    """A score with its standard error and interval (``harness.verify.statistics.Measurement``)."""

    score: Fraction
    n: int = Field(ge=1)
    se: Number | None
    ci_low: Fraction
    ci_high: Fraction
    se_method: Literal["binomial", "clustered", "stratified"]
    n_clusters: int | None
    confidence: Fraction
    design_effect: Number | None
    cluster_key: str | None
    sample_mean: Fraction | None


class FullTestEstimateRecord(_Part):
    """A stratified benchmark's score as its full test set weighs the strata (MMLU's subjects)."""

    score: Fraction
    se: Number
    ci_low: Fraction
    ci_high: Fraction
    confidence: Fraction
    strata: int
    population: int
    method: str
    sample_mean: Fraction
    note: str


class CeilingRecord(_Part):
    benchmark: str
    value: Fraction
    value_low: Fraction
    value_high: Fraction
    basis: str
    citation: str
    details: dict[str, Any]


class CeilingTestRecord(_Part):
    claimed: Fraction
    claimed_generous: Fraction
    ceiling: Fraction
    ceiling_upper_bound: Fraction
    p_value: Fraction
    method: str


class ShortfallRecord(_Part):
    claimed: Fraction
    tolerance: Number
    boundary: Number
    measured: Fraction
    n: int
    n_eff: Number | None
    log_evalue: Number | None
    p_value: Fraction
    alpha: Number
    power: Number
    minimum_detectable_shortfall: Number | None
    method: str


class ExcessRecord(_Part):
    boundary: Number
    log_evalue: Number | None
    p_value: Fraction


class EquivalenceRecord(_Part):
    claimed: Fraction
    margin: Number
    p_lower: Fraction
    p_upper: Fraction
    p_value: Fraction
    method: str
    p_adjusted: Fraction | None


class ClaimTestRecord(_Part):
    """The tests of one measured claim (``harness.verify.verdict``)."""

    claimed: Fraction
    measured: Fraction
    difference: Number
    se: Number | None
    n: int
    n_eff: Number | None
    alpha: Number
    power: Number
    tolerance: Number
    equivalence_margin: Number
    p_value: Fraction
    p_adjusted: Fraction | None
    minimum_detectable_gap: Number | None
    method: str
    shortfall: ShortfallRecord
    excess: ExcessRecord
    equivalence: EquivalenceRecord
    correction: str


class ComparedSetting(_Part):
    metric: str
    filter: str
    n_shot: int | None
    chain_of_thought: bool
    chat_template: bool
    max_gen_toks: int | None = None  # compared on generative benchmarks only


class SettingComparisonRecord(_Part):
    claimed: ComparedSetting
    run: ComparedSetting
    differences: list[str]
    assumed: list[str]


class TruncationRecord(_Part):
    max_gen_toks: int | None
    scored: int
    truncated: int | None
    truncated_wrong: int | None
    no_final_answer: int
    no_final_answer_wrong: int
    method: str


class VerdictRecord(_Part):
    label: VerdictLabel
    reasons: list[str]


class DifferenceTestRecord(_Part):
    clean: MeasurementRecord
    dirty: MeasurementRecord
    difference: Number
    se: Number | None
    z: Number | None
    p_value: Fraction
    method: Literal["score", "fisher"]


class CleanDirtyRecord(_Part):
    """Scores on the items a scan found clean and dirty (``--clean-from``)."""

    dirty_ids_for_benchmark: int
    dirty_items_scored: int
    clean_items_scored: int
    dirty_not_scored: int
    clean: MeasurementRecord | None
    dirty: MeasurementRecord | None
    difference: Number | None
    p_value: Fraction | None
    difference_test: DifferenceTestRecord | None
    adjusted_score: Fraction | None
    note: str


class SourceRecord(_Part):
    """Where a benchmark copy came from (``harness.data.items.SourceInfo``)."""

    kind: str
    location: str
    files: dict[str, str]
    revision: str | None
    complete: bool
    note: str


class SelectionRecord(_Part):
    method: Literal["all", "first_n", "random_sample"]
    n: int | None
    seed: int | None
    description: str


Sha256 = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]


class DataRecord(_Part):
    split: str
    items_in_copy: int
    items_scored: int
    complete: bool
    partial_note: str | None
    selection: SelectionRecord
    limited: bool
    content_sha256: Sha256
    source: SourceRecord


class FewshotSourceRecord(_Part):
    split: str
    content_sha256: Sha256
    source: SourceRecord


class LmEvalRecord(_Part):
    """What was asked of lm-eval and what it answered (its own results and configs, verbatim)."""

    request: str
    num_fewshot: int
    tasks: list[str]
    fewshot_source: FewshotSourceRecord | None
    yaml_files: dict[str, str]
    results: dict[str, dict[str, Any]]
    n_samples: dict[str, Any]
    configs: dict[str, Any]


class BenchmarkSection(_Part):
    """One benchmark's measurement, ceiling, claim tests and verdict."""

    title: str
    setting: SettingRecord
    metric_key: str
    partial: bool
    data: DataRecord | None
    lm_eval: LmEvalRecord | None
    lm_eval_score: Fraction | None
    measurement: MeasurementRecord | None
    full_test_estimate: FullTestEstimateRecord | None
    ceiling: CeilingRecord | None
    ceiling_note: str | None  # why there is no ceiling
    claim: ClaimRecord | None
    claim_test: ClaimTestRecord | None
    ceiling_test: CeilingTestRecord | None
    setting_comparison: SettingComparisonRecord | None
    truncation: TruncationRecord | None
    verdict: VerdictRecord | None
    caveats: list[str]
    contamination: CleanDirtyRecord | None

    @model_validator(mode="after")
    def _ceiling_or_why_not(self) -> BenchmarkSection:
        if (self.ceiling is None) == (self.ceiling_note is None):
            raise ValueError("exactly one of 'ceiling' and 'ceiling_note' (why there is none) is given")
        if self.verdict is not None and self.claim is None:
            raise ValueError("a verdict without a claim")
        return self


class FamilyTest(_Part):
    benchmark: str
    p_value: Fraction
    p_adjusted: Fraction


class AccusingTest(FamilyTest):
    test: Literal["ceiling", "shortfall"]


class FamilyRecord(_Part):
    """The claims of one file judged together (Holm's correction across them)."""

    correction: str
    alpha: Number
    tolerance: Number
    equivalence_margin: Number
    power: Number
    accusing_tests: list[AccusingTest]
    equivalence_tests: list[FamilyTest]
    statement: str


class ModelRecord(_Part):
    """The model as lm-eval was given it (``harness.models.backends.BackendSpec``); never a key."""

    name: str
    backend: str
    lm_eval_model: str
    model_args: dict[str, Any]
    loglikelihood: bool
    chat_only: bool
    identity: dict[str, Any]


class CleanFromRecord(_Part):
    path: str
    sha256: Sha256
    dirty_items: int
    # the scan record's own status ("clean", "leak", "incomplete"); None for a file without one
    scan_status: str | None = None


class FilesRecord(_Part):
    items: str | None
    markdown: str
    lm_eval_tasks: str | None


class SettingsRecord(_Part):
    benchmarks: list[str]
    seed: int | None
    limit: int | None
    sample: int | dict[str, int] | None
    gen_kwargs: dict[str, Any] | None
    claims_not_run: list[str]
    files: FilesRecord
    # A measured run also records these (a --plausibility-only record has none of them).
    limit_semantics: str | None = None
    sample_semantics: str | None = None
    max_gen_toks: int | None = None
    api_key_env: str | None = None  # the variable's name only; its value is never recorded
    clean_from: CleanFromRecord | None = None
    request_cache: str | None = None


MEASURED_ONLY_SETTINGS = (
    "limit_semantics",
    "sample_semantics",
    "max_gen_toks",
    "api_key_env",
    "clean_from",
    "request_cache",
)


class ResumeTiming(_Part):
    requested: bool
    cached_requests_at_start: int | None


class VerifyTiming(_Part):
    """Wall-clock facts: the only part of the record that differs between runs of the same inputs."""

    started_at: str
    total_s: Number
    resume: ResumeTiming | None = None
    model_load_s: Number | None = None
    lm_eval_s: Number | None = None
    lm_eval_chat_s: Number | None = None


class VerifyRecord(RecordHeader):
    """``verify.json``: the shared header, the run's model and settings, and one section per benchmark."""

    model_config = ConfigDict(extra="forbid", strict=True, protected_namespaces=())

    schema_: Literal["harness.verify"] = Field(alias="schema")
    schema_version: Literal[2]
    status: Literal["clean", "flagged", "failed", "unresolved"]
    timing: VerifyTiming
    mode: Literal["measured", "plausibility-only"]
    versions: dict[str, str | None]
    model: ModelRecord | None
    claims: ClaimsRecord | None
    settings: SettingsRecord
    family: FamilyRecord | None
    benchmarks: dict[str, BenchmarkSection]

    @model_validator(mode="after")
    def _consistent(self) -> VerifyRecord:
        if sorted(self.benchmarks) != sorted(self.settings.benchmarks):  # the file's keys are sorted
            raise ValueError(
                f"benchmarks {list(self.benchmarks)} do not match settings.benchmarks {self.settings.benchmarks}"
            )
        measured = self.mode == "measured"
        if measured != (self.model is not None):
            raise ValueError(f"mode {self.mode!r} with {'no ' if self.model is None else 'a '}model")
        if measured:
            missing = [k for k in MEASURED_ONLY_SETTINGS if k not in self.settings.model_fields_set]
            if missing:
                raise ValueError(f"a measured run's settings lack {missing}")
            unmeasured = [n for n, s in self.benchmarks.items() if s.measurement is None or s.data is None]
            if unmeasured:
                raise ValueError(f"mode 'measured' but nothing measured for {unmeasured}")
        return self


def validate_verify_record(data: Any, where: str = "verify record") -> VerifyRecord:
    """A verify record (dict or model) validated; a RecordValidationError names each bad field."""
    return validate_record(VerifyRecord, data, where)


def write_verify_record(path: Path | str, data: Any) -> VerifyRecord:
    """Validate and write ``verify.json`` atomically (canonical JSON: sorted keys, no NaN)."""
    return write_record(path, VerifyRecord, data)


def read_verify_record(path: Path | str) -> VerifyRecord:
    """Read and validate a ``verify.json``; the report renders from this, never from guessed keys."""
    return read_record(path, VerifyRecord)
