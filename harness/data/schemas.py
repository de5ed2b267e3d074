"""The Hub schema of each benchmark, checked row by row with errors that name the line and field."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness.data.errors import DataError
from harness.data.registry import get_spec

# Fields each Hub schema requires, with the check each must pass.
_STR = (str,)


def _need(row: dict[str, Any], name: str, types: tuple[type, ...], where: dict[str, Any]) -> Any:
    if not isinstance(row, dict):
        raise DataError(f"expected an object, got {type(row).__name__}", **where)
    if name not in row or row[name] is None:
        raise DataError("missing required field", field=name, **where)
    value = row[name]
    if not isinstance(value, types) or isinstance(value, bool):
        wanted = " or ".join(t.__name__ for t in types)
        raise DataError(f"expected {wanted}, got {type(value).__name__}", field=name, **where)
    return value


def _str_list(row: dict[str, Any], name: str, where: dict[str, Any], min_len: int = 2) -> list[str]:
    value = row.get(name) if isinstance(row, dict) else None
    if value is None:
        raise DataError("missing required field", field=name, **where)
    if hasattr(value, "tolist"):  # numpy arrays from Parquet
        value = value.tolist()
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise DataError("expected a list of strings", field=name, **where)
    if len(value) < min_len:
        raise DataError(f"expected at least {min_len} entries, got {len(value)}", field=name, **where)
    return list(value)


def _gsm8k(row: dict[str, Any], where: dict[str, Any]) -> dict[str, Any]:
    question = _need(row, "question", _STR, where)
    answer = _need(row, "answer", _STR, where)
    if "####" not in answer:
        raise DataError("GSM8K answer has no '#### <final answer>' line", field="answer", **where)
    return {"question": question, "answer": answer}


def _mmlu(row: dict[str, Any], where: dict[str, Any]) -> dict[str, Any]:
    out = {
        "question": _need(row, "question", _STR, where),
        "subject": _need(row, "subject", _STR, where),
        "choices": _str_list(row, "choices", where),
        "answer": _need(row, "answer", (int,), where),
    }
    if not 0 <= out["answer"] < len(out["choices"]):
        raise DataError(f"answer {out['answer']} is not a choice index", field="answer", **where)
    if row.get("redux_row") is not None:
        out["redux_row"] = int(row["redux_row"])
    return out


def _arc(row: dict[str, Any], where: dict[str, Any]) -> dict[str, Any]:
    _need(row, "question", _STR, where)
    choices = _need(row, "choices", (dict,), where)
    text = _str_list(choices, "text", {**where})
    label = _str_list(choices, "label", {**where})
    if len(text) != len(label):
        raise DataError("choices.text and choices.label differ in length", field="choices", **where)
    key = _need(row, "answerKey", _STR, where)
    if key not in label:
        raise DataError(f"answerKey '{key}' is not among labels {label}", field="answerKey", **where)
    return {
        "id": str(row["id"]) if row.get("id") not in (None, "") else None,
        "question": row["question"],
        "choices": {"text": text, "label": label},
        "answerKey": key,
    }


def _hellaswag(row: dict[str, Any], where: dict[str, Any]) -> dict[str, Any]:
    out = {
        "ind": int(row["ind"]) if isinstance(row, dict) and row.get("ind") is not None else None,
        "activity_label": _need(row, "activity_label", _STR, where),
        "ctx_a": _need(row, "ctx_a", _STR, where),
        "ctx_b": row.get("ctx_b") or "",
        "ctx": _need(row, "ctx", _STR, where),
        "endings": _str_list(row, "endings", where),
        "source_id": row.get("source_id") or "",
        "split": row.get("split") or "",
        "split_type": row.get("split_type") or "",
        "label": str(_need(row, "label", (str, int), where)),
    }
    label = out["label"].strip()
    if label and (not label.isdigit() or int(label) >= len(out["endings"])):
        raise DataError(f"label '{label}' is not an ending index", field="label", **where)
    return out


# One validator per Hub schema family (a benchmark's spec names its family: `schema`).
VALIDATORS: dict[str, Callable[[dict[str, Any], dict[str, Any]], dict[str, Any]]] = {
    "gsm8k": _gsm8k,
    "mmlu": _mmlu,
    "arc": _arc,
    "hellaswag": _hellaswag,
}


def validate_row(
    benchmark: str, row: dict[str, Any], *, path: str | Path | None = None, line: int | None = None
) -> dict[str, Any]:
    """Check one row against the benchmark's Hub schema; return it normalised to plain Python types."""
    validator = VALIDATORS[get_spec(benchmark).schema_]
    return validator(row, {"path": path, "line": line})
