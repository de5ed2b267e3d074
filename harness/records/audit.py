"""``AuditRecord``: the typed model of ``audit.json``, the record ``harness audit`` writes.

It lives in ``harness.records`` so that the report (``harness.report``) reads an audit through this
floor alone, never through the code that runs one (``harness.audit``): the viewer reads logs, as
inspect_ai's ``_view`` reads ``EvalLog`` files and never imports ``_eval``.

The record is the shared header (``harness.records.header``) plus what the audit ran: the config as
parsed, input checksums, package versions, the plan with every section's arguments, each section's
own record verbatim, the endpoint's attribution and the exit code. Nothing is renamed: the model
describes the JSON the audit has written since ``schema_version`` 1, key for key.

Section bodies are the capabilities' own records, validated by the ``schema`` they declare:
``harness.verify`` as a ``VerifyRecord``, ``harness.scan`` as a ``ScanRecord``, ``harness.fingerprint``
as a ``FingerprintRecord``, ``harness.contamination`` as a ``ContaminationRecord``; a section that
raised is an ``ErrorSection``; a body that declares no known schema (a recorded fixture) is kept as a
dict, checked only for the ``status`` every section carries. ``write_audit_record`` and ``read_audit_record`` validate;
a bad record is refused with a ``RecordValidationError`` naming the field.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, model_validator

from harness.records.contamination import ContaminationRecord
from harness.records.files import atomic_write_text, json_safe
from harness.records.fingerprint import FingerprintRecord
from harness.records.header import RecordHeader
from harness.records.io import read_record, record_dict, validate_record
from harness.records.scan import ScanRecord
from harness.records.status import STATUS_CLASS, Status, combine_status, exit_code
from harness.records.verify import VerifyRecord

SCHEMA = "harness.audit"
SCHEMA_VERSION = 1

# The sections an audit can run, in the words the report and the console show. Data of the record
# (both the runner and the report read it), so it lives here and not in either of them.
SECTION_TITLES: dict[str, str] = {
    "scan": "Leakage scan",
    "fingerprint": "Endpoint fingerprint",
    "verify_weights": "Scores of the weights",
    "verify_endpoint": "Scores of the endpoint",
    "contamination": "Contamination (model side)",
}

Number = float | int


class _Part(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, protected_namespaces=())


class ErrorSection(_Part):
    """A section that raised (or returned no record): what failed, and the end of its traceback."""

    status: Literal["error"]
    headline: str
    error: str
    traceback_tail: str | None = None


class SectionBody(BaseModel):
    """A capability's record not yet typed here: a dict that carries at least its ``status``."""

    model_config = ConfigDict(extra="allow", strict=True)

    status: str
    headline: str | None = None


def _section_kind(value: Any) -> str:
    get = value.get if isinstance(value, dict) else lambda k, d=None: getattr(value, k, d)
    if get("status") == "error":
        return "error"
    if isinstance(value, VerifyRecord) or get("schema") == "harness.verify":
        return "verify"
    if isinstance(value, ScanRecord) or get("schema") == "harness.scan":
        return "scan"
    if isinstance(value, FingerprintRecord) or get("schema") == "harness.fingerprint":
        return "fingerprint"
    if isinstance(value, ContaminationRecord) or get("schema") == "harness.contamination":
        return "contamination"
    return "other"


Section = Annotated[
    Annotated[VerifyRecord, Tag("verify")]
    | Annotated[ScanRecord, Tag("scan")]
    | Annotated[FingerprintRecord, Tag("fingerprint")]
    | Annotated[ContaminationRecord, Tag("contamination")]
    | Annotated[ErrorSection, Tag("error")]
    | Annotated[SectionBody, Tag("other")],
    Discriminator(_section_kind),
]


class AuditConfigRecord(_Part):
    file: str  # the audit file's name
    parsed: dict[str, Any]  # the TOML as parsed
    claims: dict[str, Any] | None


class ScanInputChecksum(_Part):
    bytes: int
    sha256: str | None
    note: str | None = None


class AuditChecksums(_Part):
    audit_file: str
    claims_file: str | None = None
    scan_inputs: dict[str, ScanInputChecksum] | None = None


class PlannedSection(_Part):
    """One call of the plan: which section, which capability entry point, where, with what."""

    section: str
    calls: str
    out_dir: str
    arguments: dict[str, Any]


class Attribution(_Part):
    fingerprint_verdict: str | None
    note: str


class AuditTiming(_Part):
    """Everything that legitimately differs between two runs of the same inputs."""

    run_id: str
    started_at: str
    finished_at: str
    seconds: Number
    sections_seconds: dict[str, Number]
    served_endpoint: str | None


def section_class(section: dict[str, Any] | BaseModel) -> Status:
    """A section's status as one of the four classes; a word nobody registered counts as failed."""
    status = section.get("status") if isinstance(section, dict) else getattr(section, "status", None)
    return STATUS_CLASS.get(str(status), "failed")


class AuditRecord(RecordHeader):
    """``audit.json``: the header, the plan and every section's own record."""

    model_config = ConfigDict(extra="forbid", strict=True, protected_namespaces=())

    schema_: Literal["harness.audit"] = Field(alias="schema")
    schema_version: Literal[1]
    status: Literal["clean", "flagged", "failed", "unresolved"]
    timing: AuditTiming
    name: str
    description: str
    inputs_sha256: str
    config: AuditConfigRecord
    checksums: AuditChecksums
    versions: dict[str, str | None]
    plan: list[PlannedSection]
    attribution: Attribution | None
    sections: dict[str, Section]
    exit_code: int

    @model_validator(mode="after")
    def _consistent(self) -> AuditRecord:
        planned = [p.section for p in self.plan]
        unplanned = [name for name in self.sections if name not in planned]
        if unplanned:
            raise ValueError(f"sections {unplanned} are not in the plan {planned}")
        combined = combine_status(section_class(s) for s in self.sections.values())
        if self.status != combined:
            raise ValueError(f"status {self.status!r}, but the sections combine to {combined!r}")
        if self.exit_code != exit_code(self.status):
            raise ValueError(f"exit_code {self.exit_code} does not match status {self.status!r}")
        return self


def validate_audit_record(data: Any, where: str = "audit record") -> AuditRecord:
    """An audit record (dict or model) validated; a RecordValidationError names each bad field."""
    return validate_record(AuditRecord, data, where)


def dumps_audit(record: dict[str, Any]) -> str:
    """audit.json's text: two-space indent, keys in the order the audit ran and the report shows them
    (sections in plan order, versions as listed), so it is not key-sorted like the other records."""
    return json.dumps(json_safe(record, default=str), indent=2, ensure_ascii=False) + "\n"


def write_audit_record(path: Path | str, data: dict[str, Any] | AuditRecord) -> AuditRecord:
    """Validate and write ``audit.json`` atomically; returns the model."""
    record = validate_audit_record(data, str(path))
    body = data if isinstance(data, dict) else record_dict(record)
    atomic_write_text(path, dumps_audit(body))
    return record


def read_audit_record(path: Path | str) -> AuditRecord:
    """Read and validate an ``audit.json``; the report renders from this, never from guessed keys."""
    return read_record(path, AuditRecord)
