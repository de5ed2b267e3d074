"""Convert the release formats of each benchmark to its Hub schema.

Accepted per benchmark (besides the Hub schema itself, in JSONL/JSON/Parquet/CSV/Arrow):
- GSM8K: the original JSONL (same fields as the Hub).
- MMLU: the original per-subject CSVs (`<subject>_test.csv`, no header: question, A-D, answer
  letter) and MMLU-Redux CSVs (`mmlu_<subject>.csv`: question, choices as a list literal, answer).
- ARC: the original AI2 JSONL (`question.stem`, `question.choices[]`) and the re-formatted
  `{query, choices, gold}` copies (no native ids: items are known by row).
- HellaSwag: the original JSONL and the 6-lines-per-item text format (no `ind`: known by row).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

from harness.data.errors import DataError
from harness.data.readers import decode_text, read_bytes, strip_compression
from harness.data.registry import MMLU_SUBJECTS, get_spec

_LETTERS = "ABCDEFGHIJ"


def to_hub_row(benchmark: str, record: Any, *, path: Path, line: int) -> dict[str, Any]:
    """One source record in the benchmark's Hub schema (not yet validated)."""
    convert = _CONVERTERS.get(get_spec(benchmark).schema_)
    if convert is not None:
        return convert(record, path=path, line=line)
    return _named_fields(record, path=path, line=line)


def _hellaswag_row(record: Any, *, path: Path, line: int) -> dict[str, Any]:
    if not (isinstance(record, dict) and "ctx" in record):
        return _named_fields(record, path=path, line=line)
    row = dict(record)
    if isinstance(row.get("label"), int):
        row["label"] = str(row["label"])
    return row


def _named_fields(record: Any, *, path: Path, line: int) -> dict[str, Any]:
    if not isinstance(record, dict):
        raise DataError(
            f"expected an object with named fields, got {type(record).__name__}", path=path, line=line
        )
    return record


def _subject_from_name(path: Path) -> str | None:
    stem = re.sub(r"\.(csv|jsonl|json|parquet)$", "", strip_compression(path.name.lower()))
    stem = re.sub(r"^mmlu_", "", stem)
    stem = re.sub(r"_(test|dev|val|validation)$", "", stem)
    return stem if stem in MMLU_SUBJECTS else None


def _mmlu_row(record: Any, *, path: Path, line: int) -> dict[str, Any]:
    subject = _subject_from_name(path)
    if isinstance(record, list):  # original release: question, A, B, C, D, answer letter
        if len(record) != 6:
            raise DataError(
                f"expected 6 columns (question, A-D, answer), got {len(record)}", path=path, line=line
            )
        letter = record[5].strip().upper()
        if letter not in _LETTERS[:4]:
            raise DataError(f"answer '{record[5]}' is not one of A-D", path=path, line=line, field="answer")
        if subject is None:
            raise DataError("cannot tell the MMLU subject from the file name (<subject>_test.csv)", path=path)
        return {
            "question": record[0],
            "subject": subject,
            "choices": list(record[1:5]),
            "answer": _LETTERS.index(letter),
        }
    if not isinstance(record, dict):
        raise DataError(f"expected a record, got {type(record).__name__}", path=path, line=line)
    row = dict(record)
    if isinstance(row.get("choices"), str):  # MMLU-Redux: a Python list literal in a CSV cell
        try:
            parsed = ast.literal_eval(row["choices"])
        except (ValueError, SyntaxError) as exc:
            raise DataError(
                f"cannot parse choices list: {exc}", path=path, line=line, field="choices"
            ) from exc
        row["choices"] = [str(c) for c in parsed]
    if isinstance(row.get("answer"), str):
        text = row["answer"].strip()
        if text.isdigit():
            row["answer"] = int(text)
        elif text.upper() in _LETTERS[:4] and text:
            row["answer"] = _LETTERS.index(text.upper())
        else:
            raise DataError(
                f"answer '{text}' is neither an index nor a letter", path=path, line=line, field="answer"
            )
    if not row.get("subject"):
        if subject is None:
            raise DataError(
                "no 'subject' field and none in the file name", path=path, line=line, field="subject"
            )
        row["subject"] = subject
    return row


def _arc_row(record: Any, *, path: Path, line: int) -> dict[str, Any]:
    if not isinstance(record, dict):
        raise DataError(f"expected an object, got {type(record).__name__}", path=path, line=line)
    if isinstance(record.get("question"), dict):  # original AI2 release
        stem = record["question"].get("stem")
        options = record["question"].get("choices") or []
        return {
            "id": record.get("id"),
            "question": stem,
            "choices": {"text": [c.get("text") for c in options], "label": [c.get("label") for c in options]},
            "answerKey": record.get("answerKey"),
        }
    if "query" in record and "gold" in record:  # re-formatted copy (e.g. llm-foundry's)
        choices = record.get("choices")
        if not isinstance(choices, list):
            raise DataError("expected a list", path=path, line=line, field="choices")
        gold = record["gold"]
        if not isinstance(gold, int) or not 0 <= gold < len(choices):
            raise DataError(f"gold {gold!r} is not a choice index", path=path, line=line, field="gold")
        query = str(record["query"])
        question = query[len("Question: ") :] if query.startswith("Question: ") else query
        return {
            "id": record.get("id"),
            "question": question,
            "choices": {"text": choices, "label": list(_LETTERS[: len(choices)])},
            "answerKey": _LETTERS[gold],
        }
    return dict(record)


# Release formats per Hub schema family (the Hub schema itself passes through unchanged).
_CONVERTERS = {"mmlu": _mmlu_row, "arc": _arc_row, "hellaswag": _hellaswag_row}

_SENTENCE_END = re.compile(r"[.!?]\"?\s+(?=[a-z])")


def split_hellaswag_ctx(ctx: str) -> tuple[str, str]:
    """Recover (ctx_a, ctx_b) from the joined context of the 6-line format.

    The Hub joins them as `ctx_a + " " + ctx_b`, where ctx_b is the lower-case sentence fragment the
    endings continue; lm-eval capitalises ctx_b. We split after the last sentence end that is
    followed by a lower-case word. The only thing the split can change in lm-eval's prompt is the
    case of that fragment's first letter; the Hub copy is exact.
    """
    last = None
    for match in _SENTENCE_END.finditer(ctx):
        last = match
    if last is None:
        return ctx, ""
    return ctx[: last.end()].rstrip(), ctx[last.end() :]


def read_hellaswag_text(path: Path) -> list[tuple[int, dict[str, Any]]]:
    """Parse the 6-lines-per-item format: `activity_label: ctx`, gold label, 4 endings."""
    text = decode_text(read_bytes(path), path)
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if len(lines) % 6:
        raise DataError(
            f"{len(lines)} lines is not a multiple of 6 (truncated file?); last complete item ends at line "
            f"{len(lines) - len(lines) % 6}",
            path=path,
            line=len(lines),
        )
    out = []
    for start in range(0, len(lines), 6):
        head, label, *endings = lines[start : start + 6]
        if ": " not in head:
            raise DataError("expected 'activity_label: context'", path=path, line=start + 1)
        if not label.strip().isdigit():
            raise DataError(
                f"expected a gold label 0-3, got {label!r}", path=path, line=start + 2, field="label"
            )
        activity, ctx = head.split(": ", 1)
        ctx_a, ctx_b = split_hellaswag_ctx(ctx)
        out.append(
            (
                start + 1,
                {
                    "ind": None,
                    "activity_label": activity,
                    "ctx_a": ctx_a,
                    "ctx_b": ctx_b,
                    "ctx": ctx,
                    "endings": endings,
                    "label": label.strip(),
                },
            )
        )
    return out
