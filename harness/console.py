"""Where command output goes: tables for a person on a terminal, whole values and JSON for scripts.

Rich sizes a console to 80 columns when stdout is not a terminal, so a table piped into `grep` or a log
came out with names cut (`arc_challe…`). Off a terminal the console here is as wide as the content
needs, and commands cut nothing themselves (`is_terminal` tells them whether shortening is welcome).
`--json` prints the command's record on stdout, alone, so `harness … --json | jq` always parses.
"""

from __future__ import annotations

import sys
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
