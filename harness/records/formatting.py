"""Numbers as a reader sees them, written the same way in every record, table and report.

Records hold fractions in [0, 1]; these helpers turn them into the words the reports print. One copy,
so that "41.2%" and "p = 0.031" read alike in verify's table, an audit's report and a headline.
"""

from __future__ import annotations

import math
import re
from typing import Any


def percent(x: float | None, digits: int = 1, missing: str = "n/a") -> str:
    """A fraction as a percentage: ``percent(0.4123)`` is ``"41.2%"``; None is ``missing``."""
    return missing if x is None else f"{100.0 * x:.{digits}f}%"


def points(x: float, digits: int = 1) -> str:
    """A fraction as percentage points, without the sign: ``points(0.031)`` is ``"3.1"``."""
    return f"{100.0 * x:.{digits}f}"


def format_p(p: float | None, digits: int = 3) -> str:
    """A p-value as a reader expects it: ``p < 0.001`` below the last decimal shown (``digits``), else
    ``p = 0.031``; ``p = n/a`` for a missing or non-finite one."""
    if p is None or not math.isfinite(p):
        return "p = n/a"
    floor = 10.0**-digits
    return f"p < {floor:.{digits}f}" if p < floor else f"p = {p:.{digits}f}"


def md_escape(text: Any) -> str:
    """Text safe inside a Markdown table cell: no raw HTML, no column breaks, no line breaks (model
    output and item text are untrusted; every Markdown renderer escapes them with this)."""
    s = "" if text is None else str(text)
    s = s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    s = s.replace("|", "\\|").replace("\r", " ").replace("\n", " ")
    for ch in "*_`[]":
        s = s.replace(ch, "\\" + ch)
    return s


def md_fence(text: str) -> str:
    """A fenced block that no backtick run inside the text can close early."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}text\n{text}\n{fence}"
