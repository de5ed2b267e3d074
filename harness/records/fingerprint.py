"""``FingerprintRecord``: the typed model of ``fingerprint.json``, the record ``harness fingerprint`` writes.

It lives in ``harness.records`` (pydantic only, no torch, no httpx) so that the audit, the report and a
user's script validate a fingerprint record without importing the fingerprint package.
``harness.fingerprint.runner`` builds the record and writes it through ``write_fingerprint_record``;
``read_fingerprint_record`` is the way back in. Both validate; a record that lacks a key or holds a
wrong type is refused with the field named (``harness.records.io``).

The model describes the JSON the fingerprint has written since ``schema_version`` 2, key for key
(docs/fingerprint.md, "The record"); nothing is renamed. A run that could not use the endpoint writes
the same header with ``status`` ``error``, ``verdict`` null, an ``error`` text and no evidence. Free-form
parts stay dicts: the endpoint's discovered ``capabilities``, the reference's ``provenance``, the
calibration, and each evidence row's ``details`` (each test documents its own).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from harness.records.header import RecordHeader
from harness.records.io import read_record, validate_record, write_record

SCHEMA = "harness.fingerprint"
SCHEMA_VERSION = 2

Number = float | int  # a JSON number, kept as written
Fraction = Annotated[Number, Field(ge=0.0, le=1.0)]
Verdict = Literal["match", "mismatch", "inconclusive"]
EvidenceKind = Literal["tokenizer", "weights", "relay", "info"]
# ``harness.fingerprint.verdict``: the fixed relations, "same weights within <tier> numerics" (a match)
# and "quantised or changed weights (beyond <tier> numerics)" (an inconclusive beyond the match tier).
RELATIONS = (
    "identical",
    "same weights within the honest numerics band",
    "different weights",
    "relay rewrites text",
    "unknown",
)
_TIER_RELATION = re.compile(
    r"same weights within \w+ numerics|quantised or changed weights \(beyond \w+ numerics\)"
)


class _Part(BaseModel):
    """Every part of the record: unknown keys are refused (the model is the contract)."""

    model_config = ConfigDict(extra="forbid", strict=True, protected_namespaces=())


class EvidenceRecord(_Part):
    """One row of the evidence table (``harness.fingerprint.evidence.Evidence.to_dict``)."""

    name: str
    kind: EvidenceKind
    measured: str
    statistic: str
    weight: Annotated[Number, Field(ge=0.0, le=1.0)] | None  # share of alpha; 0 for informational rows
    e_value: Annotated[Number, Field(ge=0.0)]  # running maximum of the e-process
    e_final: Annotated[Number, Field(ge=0.0)]
    n: int = Field(ge=0)
    complete: bool
    requests: int = Field(ge=0)
    tokens: int = Field(ge=0)
    bound: str | None
    details: dict[str, Any]


class SkippedRecord(_Part):
    probe: str
    reason: str


class SettingsRecord(_Part):
    budget: int = Field(ge=1)
    seed: int
    chat: bool | None
    alpha: Annotated[Number, Field(gt=0.0, lt=0.5)]
    tolerance: Literal["16bit", "8bit", "4bit"]
    match_tier: Literal["16bit", "8bit", "4bit"]
    pool_version: int


class ProbeCost(_Part):
    requests: int = Field(ge=0)
    tokens: int = Field(ge=0)


class CostRecord(_Part):
    """What the run cost at the endpoint (``harness.fingerprint.client.Ledger``)."""

    requests: int = Field(ge=0)
    prompt_tokens: int = Field(ge=0)
    completion_tokens: int = Field(ge=0)
    tokens: int = Field(ge=0)
    retries: int = Field(ge=0)
    responses_without_usage: int = Field(ge=0)
    by_probe: dict[str, ProbeCost]


class FingerprintRecord(RecordHeader):
    """``fingerprint.json``: the header, the verdict, the evidence rows, what was skipped, the cost."""

    model_config = ConfigDict(extra="forbid", strict=True, protected_namespaces=())

    schema_: Literal["harness.fingerprint"] = Field(alias="schema")
    schema_version: Literal[2]
    endpoint: str
    model: str
    reference: dict[str, Any]  # provenance of the local reference or the signature
    settings: SettingsRecord
    capabilities: dict[str, Any]  # what discovery found (routes, fields, mode)
    family: dict[str, Number]  # test -> share of alpha, fixed before any probe
    calibration: dict[str, Any] | None  # honest numerics of the reference; None without weights
    cost: CostRecord
    versions: dict[str, str | None]
    verdict: Verdict | None  # None only when the run failed (status "error")
    confidence: Fraction | None
    weights_relation: str
    evidence: list[EvidenceRecord]
    skipped: list[SkippedRecord]
    # present when a verdict was reached
    confidence_meaning: str | None = None
    p_family: Fraction | None = None
    rejected_by: list[str] | None = None
    bounds: dict[str, str] | None = None
    # present when the endpoint could not be used
    error: str | None = None

    @field_validator("weights_relation")
    @classmethod
    def _known_relation(cls, value: str) -> str:
        if value not in RELATIONS and not _TIER_RELATION.fullmatch(value):
            raise ValueError(f"unknown weights relation {value!r}")
        return value

    @field_validator("family")
    @classmethod
    def _weights_at_most_one(cls, value: dict[str, Number]) -> dict[str, Number]:
        # the record rounds each weight to 4 significant figures: allow that much over 1
        if any(w < 0 for w in value.values()) or sum(value.values()) > 1 + 1e-3:
            raise ValueError(f"family weights must be >= 0 and sum to at most 1, got {value}")
        return value

    @model_validator(mode="after")
    def _verdict_or_error(self) -> FingerprintRecord:
        if self.verdict is None:
            if self.status not in ("error", "failed") or not self.error:
                raise ValueError("a record without a verdict is a failed run: status error and an error text")
        else:
            missing = [
                k
                for k in ("confidence_meaning", "p_family", "rejected_by", "bounds")
                if getattr(self, k) is None
            ]
            if missing:
                raise ValueError(f"a record with a verdict needs {', '.join(missing)}")
        return self


def validate_fingerprint_record(data: Any, where: str = "<fingerprint record>") -> FingerprintRecord:
    return validate_record(FingerprintRecord, data, where)


def write_fingerprint_record(path: Path | str, data: Any) -> FingerprintRecord:
    """Validate and write ``fingerprint.json`` atomically (canonical JSON: sorted keys)."""
    return write_record(path, FingerprintRecord, data)


def read_fingerprint_record(path: Path | str) -> FingerprintRecord:
    """Read and validate ``fingerprint.json``; errors name the file and the field."""
    return read_record(path, FingerprintRecord)
