"""Reading and writing typed records: validated on the way out and on the way in.

A record model (``VerifyRecord``, ...) is a pydantic model extending ``RecordHeader``. ``write_record``
validates a record (a model or the plain dict a capability built) and writes its canonical JSON
atomically; ``read_record`` parses a file and validates it. Either way a record that lacks a key or
holds a wrong type is refused with a ``RecordValidationError`` naming the file and each field's path
(``benchmarks.gsm8k.measurement.score: Input should be a valid number``), so a report never renders
a guessed or half-written record. Model: inspect_ai's ``EvalLog`` read and written through
``log/_file.py``.

Records are dumped with ``exclude_unset``: a key is written when the capability set it (to a value or
to null) and never invented by a default, so the JSON a capability wrote before it had a model is the
JSON it writes now.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from harness.records.files import dumps_json, read_json, write_json

R = TypeVar("R", bound=BaseModel)


class RecordValidationError(ValueError):
    """A record does not match its model; the message names the record and every bad field."""


# pydantic names the member of a union it tried (``value.float``, ``sample.dict[str,int]``); a reader
# wants the field, so those tags are dropped and the first message per field is kept.
_UNION_TAGS = frozenset({"float", "int", "str", "bool"})


def describe_errors(exc: ValidationError) -> str:
    """pydantic's errors as ``field.path: message`` clauses, one per field, joined by '; '."""
    messages: dict[str, str] = {}
    for err in exc.errors():
        loc = [str(p) for p in err["loc"] if not (p in _UNION_TAGS or "[" in str(p))]
        messages.setdefault(".".join(loc) or "<record>", err["msg"])
    return "; ".join(f"{where}: {msg}" for where, msg in messages.items())


def validate_record(model: type[R], data: Any, where: str = "<record>") -> R:
    """``data`` (a dict, or already a model) validated against ``model``."""
    if isinstance(data, model):
        data = data.model_dump(mode="python", by_alias=True, exclude_unset=True)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise RecordValidationError(
            f"{where}: not a valid {model.__name__}: {describe_errors(exc)}"
        ) from None


def record_dict(record: BaseModel) -> dict[str, Any]:
    """The record as plain JSON data, exactly the keys that were set."""
    return record.model_dump(mode="json", by_alias=True, exclude_unset=True)


def dumps_record(model: type[BaseModel], data: Any, where: str = "<record>") -> bytes:
    """Canonical JSON bytes of a validated record."""
    return dumps_json(record_dict(validate_record(model, data, where)))


def write_record(path: Path | str, model: type[R], data: Any) -> R:
    """Validate ``data`` as ``model`` and write it atomically as canonical JSON; returns the model."""
    record = validate_record(model, data, str(path))
    write_json(path, record_dict(record))
    return record


def read_record(path: Path | str, model: type[R]) -> R:
    """Read and validate a record file; errors name the file (and the field)."""
    return validate_record(model, read_json(path), str(path))
