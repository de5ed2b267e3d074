"""Where command output goes: tables for a person on a terminal, whole values and JSON for scripts.

Rich sizes a console to 80 columns when stdout is not a terminal, so a table piped into `grep` or a log
came out with names cut (`arc_challe…`). Off a terminal the console here is as wide as the content
needs, and commands cut nothing themselves (`is_terminal` tells them whether shortening is welcome).
`--json` prints the command's record on stdout, alone, so `harness … --json | jq` always parses.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from typing import Any

from rich.console import Console

# Wide enough for any row a command prints; rich only uses the width a table needs.
PIPE_WIDTH = 100_000


def stdout_console() -> Console:
    """A console on stdout: the terminal's width on a terminal, no width limit in a pipe or file."""
    console = Console()
    if not console.is_terminal:
        console = Console(width=PIPE_WIDTH, no_color=True)
    return console


def stderr_console() -> Console:
    return Console(stderr=True)


def print_json(record: Any) -> None:
    """The record as canonical JSON on stdout (sorted keys; NaN/inf as null), nothing else."""
    from harness.records.files import dumps_json

    sys.stdout.buffer.write(dumps_json(record))
    sys.stdout.flush()


@contextlib.contextmanager
def stdout_to_stderr(enabled: bool = True) -> Iterator[None]:
    """Send everything written to stdout inside the block to stderr instead (for ``--json``).

    Libraries print progress and notices to stdout (``print``, and C extensions writing to file
    descriptor 1); under ``--json`` stdout must carry the record alone, so both the Python stream and
    the descriptor are pointed at stderr until the block ends.
    """
    if not enabled:
        yield
        return
    _flush_stdout()
    saved: int | None = None
    with contextlib.suppress(OSError, ValueError):  # no real descriptors (an embedding caller)
        saved = os.dup(1)
        os.dup2(2, 1)
    try:
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        if saved is not None:
            _flush_stdout()
            os.dup2(saved, 1)
            os.close(saved)


def _flush_stdout() -> None:
    for stream in (sys.stdout, sys.__stdout__):
        if stream is not None:
            with contextlib.suppress(OSError, ValueError):
                stream.flush()
