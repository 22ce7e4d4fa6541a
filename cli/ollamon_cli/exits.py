"""How every `ollamon` command ends: one line instead of a traceback, quietly on a closed pipe.

`run_command` wraps each command's handler (`main.main`):

- `CommandError`: the command could not do its job for a reason the user can fix (NATS or
  the gateway does not answer, a credential is refused). One line on stderr,
  `ollamon: <what> (<which setting>)`, and its exit status (1 unless it says otherwise).
- `BrokenPipeError`: whoever read the output went away (`ollamon settings | head -1`). The
  rest of the output is thrown away and the command ends with status 0, as ripgrep does:
  the reader had what it wanted. Python's own message at exit is avoided by pointing
  stdout at /dev/null first (the recipe of the `signal` module's documentation).
- `KeyboardInterrupt`: Ctrl-C ends the command with status 130 and no traceback (the
  followers, `alerts` and `top`, treat Ctrl-C as their normal end and return 0 themselves).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable

INTERRUPTED_EXIT = 130


class CommandError(Exception):
    """A failure told to the user in one line, with the exit status to end on."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code


def _silence_stdout() -> None:
    """Send what is still buffered for stdout, and all later output, to /dev/null."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, sys.stdout.fileno())
    finally:
        os.close(devnull)


def run_command(handler: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
    """Run one command's handler and turn the ways it can end into an exit status."""
    try:
        code = int(handler(args))
        sys.stdout.flush()  # a closed pipe shows here when the output was small
    except BrokenPipeError:
        _silence_stdout()
        return 0
    except CommandError as error:
        _flush_quietly()
        print(f"ollamon: {error.message}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        _flush_quietly()
        return INTERRUPTED_EXIT
    return code


def _flush_quietly() -> None:
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        _silence_stdout()
