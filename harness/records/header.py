"""The header every record carries, so any reader (report, audit, a user's script) knows what it holds.

``schema`` names the record kind (``harness.verify``, ``harness.scan``, ...), ``schema_version`` is an
integer bumped when a key changes meaning, ``status`` is one of the exit-code table's four
(``harness.records.status``), ``headline`` is one plain sentence, and ``timing`` holds everything that
legitimately differs between two runs of the same inputs (clock times, durations, ports), so that the
rest of the record is byte-identical for identical inputs.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from harness.records.status import check_status


class RecordHeader(BaseModel):
    """Keys shared by every record; capability records extend it with their own fields."""

    model_config = ConfigDict(extra="allow")

    schema_: str = Field(alias="schema")
    schema_version: int
    status: str
    headline: str
    timing: dict[str, Any] = Field(default_factory=dict)

    @field_validator("status")
    @classmethod
    def _known_status(cls, value: str) -> str:
        check_status(value)
        return value

    def header_dict(self) -> dict[str, Any]:
        return {
            "schema": self.schema_,
            "schema_version": self.schema_version,
            "status": self.status,
            "headline": self.headline,
            "timing": self.timing,
        }
