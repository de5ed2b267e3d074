"""Which strings of a record are scanned: dotted field paths, or every string field by default.

Path syntax: `text`, `meta.title`, `messages[].content` (every element of a list), `messages[0].content`
or `messages[-1].content` (one element). A path that ends on an object or a list selects every string under it. The name a string
is reported under is its concrete path: `messages[1].content`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

_STEP_RE = re.compile(r"([^.\[\]]+)|\[(-?\d*)\]|(\.)")


class FieldPathError(ValueError):
    """A --field value that is not a valid path."""


@dataclass(frozen=True)
class FieldPath:
    text: str
    steps: tuple[str | int | None, ...]  # key, list index, or None for "every element"


def parse_field(path: str) -> FieldPath:
    """Parse `a.b[].c` into steps; raises FieldPathError naming the bad path."""
    if not path or path.strip() != path:
        raise FieldPathError(f"field path {path!r} is empty or has surrounding spaces")
    steps: list[str | int | None] = []
    pos = 0
    expect_key = True
    while pos < len(path):
        m = _STEP_RE.match(path, pos)
        if m is None:
            raise FieldPathError(f"field path {path!r}: unexpected {path[pos]!r} at character {pos}")
        key, index, dot = m.groups()
        if key is not None:
            if not expect_key:
                raise FieldPathError(f"field path {path!r}: missing '.' before {key!r}")
            steps.append(key)
            expect_key = False
        elif dot is not None:
            if expect_key:
                raise FieldPathError(f"field path {path!r}: empty name at character {pos}")
            expect_key = True
        else:
            if expect_key and steps:
                raise FieldPathError(f"field path {path!r}: '[' after '.' at character {pos}")
            if index == "-":
                raise FieldPathError(f"field path {path!r}: '[-]' is not an index")
            steps.append(int(index) if index else None)
            expect_key = False
        pos = m.end()
    if expect_key:
        raise FieldPathError(f"field path {path!r} ends with '.'")
    return FieldPath(path, tuple(steps))


def _all_strings(value: Any, path: str, out: list[tuple[str, str]], min_chars: int) -> bool:
    """Append the strings under `value`; return whether there was any string at all (even a short one)."""
    if isinstance(value, str):
        if len(value) >= min_chars or not value.isascii():
            out.append((path, value))
        return True
    seen = False
    if isinstance(value, dict):
        for k, v in value.items():
            seen = _all_strings(v, f"{path}.{k}" if path else str(k), out, min_chars) or seen
    elif isinstance(value, list):
        for i, v in enumerate(value):
            seen = _all_strings(v, f"{path}[{i}]", out, min_chars) or seen
    return seen


def record_texts(
    record: Any, fields: Sequence[FieldPath] | None, min_chars: int = 0
) -> tuple[list[tuple[str, str]], bool]:
    """(field path, text) pairs of one record, and whether it had any text where we looked.

    "Any text": a string (even a short one) at one of the requested paths, or anywhere in the record with
    `fields=None` (every string field). Strings that cannot hold a single indexed unit (ASCII and shorter
    than `min_chars`) are left out early; a shortcut, never a change in what can be found.
    """
    out: list[tuple[str, str]] = []
    if fields is None:
        if isinstance(record, dict):  # the common case, without building a path for the top level
            seen = False
            for k, v in record.items():
                if isinstance(v, str):
                    seen = True
                    if len(v) >= min_chars or not v.isascii():
                        out.append((k, v))
                else:
                    seen = _all_strings(v, k, out, min_chars) or seen
            return out, seen
        return out, _all_strings(record, "", out, min_chars)
    present = False
    for fp in fields:
        for path, value in _select(record, fp.steps, ""):
            present = _all_strings(value, path, out, min_chars) or present
    return out, present


def _select(value: Any, steps: tuple[str | int | None, ...], path: str):
    if not steps:
        yield path, value
        return
    step, rest = steps[0], steps[1:]
    if isinstance(step, str):
        if isinstance(value, dict) and step in value:
            yield from _select(value[step], rest, f"{path}.{step}" if path else step)
    elif isinstance(value, list):
        if step is None:
            for i, v in enumerate(value):
                yield from _select(v, rest, f"{path}[{i}]")
        elif -len(value) <= step < len(value):
            yield from _select(value[step], rest, f"{path}[{step}]")
