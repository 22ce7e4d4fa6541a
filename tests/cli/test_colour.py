"""Colour on terminals only: a pseudo-terminal gets it, NO_COLOR and a pipe do not."""

from __future__ import annotations

import os
import pty
import re
import subprocess
from pathlib import Path

from tests.cli.commands import OLLAMON, command_environment, run_ollamon

# A foreground colour: ESC [ 3x / 9x / 38;... m (bold or dim alone are not colour).
COLOUR = re.compile(r"\x1b\[(?:[0-9;]*;)?(?:3[0-9]|9[0-7])[;m]")


def on_a_terminal(*args: str, cwd: Path, **env: str) -> str:
    """Run `ollamon args...` with a pseudo-terminal as stdout; what it wrote there."""
    controller, terminal = pty.openpty()
    environment = command_environment(cwd, {"TERM": "xterm-256color", "COLUMNS": "200", **env})
    try:
        process = subprocess.Popen(
            [*OLLAMON, *args], cwd=cwd, env=environment, stdout=terminal, stderr=subprocess.PIPE
        )
        os.close(terminal)
        output = b""
        while True:
            try:
                chunk = os.read(controller, 65536)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            output += chunk
        assert process.wait(timeout=30) == 0
    finally:
        os.close(controller)
    return output.decode()


def test_a_terminal_gets_colour(tmp_path: Path) -> None:
    assert COLOUR.search(on_a_terminal("settings", cwd=tmp_path, OLLAMON_PROXY_PORT="1"))


def test_no_color_turns_colour_off_on_a_terminal(tmp_path: Path) -> None:
    output = on_a_terminal("settings", cwd=tmp_path, OLLAMON_PROXY_PORT="1", NO_COLOR="1")
    assert "OLLAMON_PROXY_PORT" in output
    assert not COLOUR.search(output)


def test_a_pipe_gets_plain_text(tmp_path: Path) -> None:
    result = run_ollamon("settings", cwd=tmp_path, env={"OLLAMON_PROXY_PORT": "1"})
    assert "\x1b[" not in result.stdout
