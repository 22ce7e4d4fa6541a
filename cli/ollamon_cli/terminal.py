"""Output for people and for pipes: colour on terminals only, never a wrapped line.

Every command writes through a `rich` console made here. rich decides colour the way
terminal tools agree on: none when the output is not a terminal (a pipe, a file) and none
when `NO_COLOR` is set (https://no-color.org); `FORCE_COLOR` forces it, and `TERM=dumb`
keeps plain text. Lines are never wrapped at a guessed width (`soft_wrap`), so what goes
into a pipe is one record per line.
"""

from __future__ import annotations

import os
import sys
from typing import TextIO

from rich.console import Console

PIPE_WIDTH = 160
SEVERITY_STYLES = {
    "low": "cyan",
    "medium": "yellow",
    "high": "bold red",
    "critical": "bold white on red",
}


class CliConsole(Console):
    """A rich console whose closed pipe is the `BrokenPipeError` `exits.run_command` ends
    quietly on (rich's own reaction is to exit with status 1)."""

    def on_broken_pipe(self) -> None:
        """Stop writing and let the command's wrapper end it."""
        self.quiet = True
        raise BrokenPipeError


def console_for(stream: TextIO | None = None, *, width: int | None = None) -> Console:
    """A console on `stream` (stdout by default): colour only if it is a terminal; tables
    drawn for a pipe are `PIPE_WIDTH` wide (`COLUMNS` overrides) instead of rich's 80."""
    probe = Console(file=stream or sys.stdout)
    if width is None and not probe.is_terminal and "COLUMNS" not in os.environ:
        width = PIPE_WIDTH
    return CliConsole(
        file=stream or sys.stdout,
        highlight=False,
        markup=False,
        emoji=False,
        soft_wrap=True,
        width=width,
    )
