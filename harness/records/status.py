"""One exit-code table for every command, and how several statuses combine into one.

=====  ==============  ===========================================================================
 code  status          meaning
=====  ==============  ===========================================================================
   0   ``clean``       every verdict clean (reproduced, consistent, match, no leak, no evidence)
   1   ``flagged``     something flagged: implausible, below claim, mismatch, leak, contaminated
   2   ``failed``      the run failed: no trustworthy result
   3   ``unresolved``  no flag, but something unresolved: inconclusive, setting not reproduced,
                       incomplete input
=====  ==============  ===========================================================================

A record's ``status`` is one of the four, or a capability's own word for one of them (a scan's
``leak`` and ``incomplete``, a fingerprint's ``mismatch`` and ``inconclusive``, ...): ``STATUS_CLASS``
maps each known word to its class, and everything that decides an exit code goes through it.

Combining (an audit's sections, a verify run's benchmarks): a flag stands whatever else happened
(it is a finding, and another section failing does not undo it), so ``flagged`` wins; then ``failed``
(a check that did not run must not pass as clean or as merely unresolved); then ``unresolved``; only
all-``clean`` is ``clean``. Nothing combined from an empty list is clean: there was nothing to check,
which is ``unresolved``.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import IntEnum
from typing import Literal, get_args

Status = Literal["clean", "flagged", "failed", "unresolved"]
STATUSES: tuple[str, ...] = get_args(Status)

# Capability words for a status, and the class each belongs to. A new word is added here, once.
STATUS_CLASS: dict[str, Status] = {
    "clean": "clean",
    "match": "clean",
    "no evidence": "clean",
    "flagged": "flagged",
    "leak": "flagged",
    "mismatch": "flagged",
    "contaminated": "flagged",
    "failed": "failed",
    "error": "failed",
    "unresolved": "unresolved",
    "incomplete": "unresolved",
    "inconclusive": "unresolved",
}


class ExitCode(IntEnum):
    CLEAN = 0
    FLAGGED = 1
    FAILED = 2
    UNRESOLVED = 3


EXIT_CODES: dict[str, int] = {
    "clean": ExitCode.CLEAN,
    "flagged": ExitCode.FLAGGED,
    "failed": ExitCode.FAILED,
    "unresolved": ExitCode.UNRESOLVED,
}

# Precedence when combining: first listed wins.
_PRECEDENCE: tuple[str, ...] = ("flagged", "failed", "unresolved", "clean")


def check_status(status: str) -> Status:
    """The class (one of the four) of a status word; a ValueError naming the known words otherwise."""
    try:
        return STATUS_CLASS[status]
    except (KeyError, TypeError):
        raise ValueError(f"unknown status {status!r}; one of {', '.join(STATUS_CLASS)}") from None


def exit_code(status: str) -> int:
    """The process exit code for a record's status (see the table in this module's docstring)."""
    return int(EXIT_CODES[check_status(status)])


def status_class(status: str) -> Status:
    """Alias of ``check_status``: the class of a status word (``"leak"`` -> ``"flagged"``)."""
    return check_status(status)


def combine_status(statuses: Iterable[str]) -> Status:
    """One status for several: flagged > failed > unresolved > clean; empty is unresolved."""
    seen = {check_status(s) for s in statuses}
    if not seen:
        return "unresolved"
    return next(s for s in _PRECEDENCE if s in seen)  # type: ignore[return-value]
