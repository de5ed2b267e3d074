"""``ContaminationRecord``: the typed model of ``contamination.json``, the record ``harness contamination``
writes.

It lives in ``harness.records`` (pydantic only) so that the audit, the report and a user's script can
validate a contamination record without numpy, lm-eval or the contamination package.
``harness.contamination.runner`` builds the record and writes it through
``write_contamination_record``; ``read_contamination_record`` is the way back in. Both validate; a
record that lacks a key or holds a wrong type is refused with the field named (``harness.records.io``).

The model describes the JSON the contamination run has written since ``schema_version`` 1, key for key
(docs/contamination.md, "The record"); nothing is renamed. What decides is typed strictly: each
benchmark's ``verdict`` (``contaminated`` / ``no evidence`` / ``inconclusive``), its ``p_value``, its
``test``, its ``top_items`` and its ranked ``items``. Parts whose keys depend on the tests that ran
(accuracy summaries, the inflation estimate, the memorisation tests, examples with their exact
prompts) stay dicts, as do the model's identity and lm-eval's setting.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from harness.records.header import RecordHeader
from harness.records.io import read_record, validate_record, write_record

SCHEMA = "harness.contamination"
SCHEMA_VERSION = 1

Number = float | int  # a JSON number, kept as written
Probability = Annotated[Number, Field(ge=0.0, le=1.0)]
VerdictLabel = Literal["contaminated", "no evidence", "inconclusive"]
TestName = Literal["scores", "likelihood", "completion", "order"]
CalibrationKind = Literal["reference", "control", "option order"]


class _Part(BaseModel):
    """Every part of the record: unknown keys are refused (the model is the contract)."""

    model_config = ConfigDict(extra="forbid", strict=True, protected_namespaces=())


class StatisticalTest(_Part):
    """One test (``harness.contamination.statistics.TestResult``); NaN is written as null."""

    name: str
    statistic: Number | None
    p_value: Probability | None
    ci_low: Number | None
    ci_high: Number | None
    n: int = Field(ge=0)
    n_control: int | None
    method: str
    mde: Number | None


class CombinedTest(StatisticalTest):
    """The deciding test of a benchmark, with the scale of each stream it combines."""

    stream_scales: dict[str, Number]


class VerdictPower(_Part):
    alpha: Number
    mde_combined: Number | None
    mde_inflation_points: Number | None


class VerdictDetail(_Part):
    """Why the verdict (``harness.contamination.analysis.decide``)."""

    label: VerdictLabel
    reasons: list[str]
    # absent when too few items could be combined into a test at all
    power: VerdictPower | None = None
    calibrated_by: CalibrationKind | None = None


class TwinCoverage(_Part):
    """Which items got twins, and why the others did not (``TwinSet.coverage``)."""

    considered: int = Field(ge=0)
    with_twins: int = Field(ge=0)
    left_out: int = Field(ge=0)
    left_out_by_reason: dict[str, int]
    left_out_examples: dict[str, list[str]]
    per_item: int = Field(ge=1)
    seed: int


class SampleSize(_Part):
    requested: int | None
    tested: int = Field(ge=0)


class ControlInfo(_Part):
    split: str
    items: int = Field(ge=0)
    coverage: dict[str, Any]


class RankedItem(_Part):
    """One tested item, ranked by its combined score; stream values appear when the stream ran."""

    model_config = ConfigDict(extra="allow", strict=True)

    item_id: str
    score: Number | None


class BenchmarkSection(_Part):
    """``benchmarks.NAME``: one benchmark's twins, tests and verdict."""

    title: str
    split: str
    items_in_copy: int = Field(ge=0)
    partial: bool
    content_sha256: str
    twins: TwinCoverage
    sample: SampleSize
    control: ControlInfo | None
    calibration: CalibrationKind | None
    notes: list[str]
    inflation: dict[str, Any] | None
    memorisation: dict[str, Any]
    verdict: VerdictLabel
    verdict_detail: VerdictDetail
    top_items: list[str]
    # written when a combined test could be computed (absent when too few items had twins)
    test: CombinedTest | None = None
    uncalibrated_test: StatisticalTest | None = None
    control_test: StatisticalTest | None = None
    p_value: Probability | None = None
    items: list[RankedItem] | None = None
    examples: list[dict[str, Any]] | None = None
    # written when the score test ran
    scores: dict[str, Any] | None = None
    reference_scores: dict[str, Any] | None = None
    control_scores: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _consistent(self) -> BenchmarkSection:
        if self.verdict != self.verdict_detail.label:
            raise ValueError(
                f"verdict {self.verdict!r} but verdict_detail.label {self.verdict_detail.label!r}"
            )
        if self.verdict == "contaminated" and self.test is None:
            raise ValueError("a contaminated verdict without the test that found it")
        return self


class OrderTestSettings(_Part):
    shards: int
    shard_size: int
    shuffles: int


class SettingsRecord(_Part):
    benchmarks: list[str]
    sample: int | dict[str, int] | None
    seed: int
    twins_per_item: int = Field(ge=1)
    tests: list[TestName]
    control: bool | None
    alpha: Annotated[Number, Field(gt=0.0, lt=0.5)]
    max_mde_points: Number
    n_shot: int | None
    gen_kwargs: dict[str, Any] | None
    api_key_env: str | None  # the variable's name, never the key
    order_test: OrderTestSettings
    twins_note: str


class ContaminationRecord(RecordHeader):
    """``contamination.json``: the header, the model (and reference), settings, one section per benchmark."""

    model_config = ConfigDict(extra="forbid", strict=True, protected_namespaces=())

    schema_: Literal["harness.contamination"] = Field(alias="schema")
    schema_version: Literal[1]
    status: Literal["clean", "flagged", "failed", "unresolved"]
    model: dict[str, Any] | None  # the backend's identity (name, backend, args, revision)
    reference: dict[str, Any] | None
    settings: SettingsRecord
    versions: dict[str, str | None]
    benchmarks: dict[str, BenchmarkSection]

    @model_validator(mode="after")
    def _consistent(self) -> ContaminationRecord:
        if sorted(self.benchmarks) != sorted(self.settings.benchmarks):
            raise ValueError(
                f"benchmarks {list(self.benchmarks)} do not match settings.benchmarks {self.settings.benchmarks}"
            )
        return self


def validate_contamination_record(data: Any, where: str = "<contamination record>") -> ContaminationRecord:
    return validate_record(ContaminationRecord, data, where)


def write_contamination_record(path: Path | str, data: Any) -> ContaminationRecord:
    """Validate and write ``contamination.json`` atomically (canonical JSON: sorted keys, no NaN)."""
    return write_record(path, ContaminationRecord, data)


def read_contamination_record(path: Path | str) -> ContaminationRecord:
    """Read and validate ``contamination.json``; errors name the file and the field."""
    return read_record(path, ContaminationRecord)
