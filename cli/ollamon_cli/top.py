"""`ollamon top`: a live terminal view of the stack, in the spirit of htop and nvitop.

Built on rich's `Live` (rich is already in the lock through Litestar and pygments' users;
textual would add a second, larger framework for a view that needs no widgets or focus:
a redraw every `--interval` seconds and one key). Each refresh asks the gateway for its
status and storage's summary of the last `WINDOW_SECONDS` (so requests/s, p95, TTFT and
tokens/s are of the last minute); the status carries each Ollama's latest `/api/ps`
snapshot, the loaded models.

`q` or Ctrl-C quits and gives the terminal back as it was. When stdout is not a terminal
(a pipe, a file, a CI log) `top` prints the view once and ends; `--export FILE` writes that
one view as SVG, HTML or text (by the suffix), for a screenshot.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import re
import signal
import sys
import termios
import tty
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
from rich.console import CONSOLE_SVG_FORMAT, Console, Group, RenderableType
from rich.live import Live
from rich.text import Text

from ollamon_cli.exits import CommandError
from ollamon_cli.gateway_api import GatewayTarget, client_for, take_snapshot
from ollamon_cli.status_view import top_view
from ollamon_cli.terminal import console_for

WINDOW_SECONDS = 60.0
QUIT_KEYS = {"q", "Q"}
EXPORT_WIDTH = 140
# rich's SVG template without its @font-face rules, which fetch Fira Code from a CDN: the
# picture uses a local Fira Code or any monospace font, and loads nothing.
SVG_FORMAT = re.sub(r"\s*@font-face \{\{.*?\}\}", "", CONSOLE_SVG_FORMAT, flags=re.DOTALL)


@contextlib.contextmanager
def keys_without_echo(fd: int) -> Iterator[None]:
    """Read single keys (cbreak: no line buffering, no echo; Ctrl-C still interrupts) and
    put the terminal back as it was, whatever happens."""
    saved = termios.tcgetattr(fd)
    try:
        tty.setcbreak(fd)
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


async def run_top(
    target: GatewayTarget, token: str | None, interval: float, export: Path | None
) -> int:
    """The live view on a terminal; one printed (or exported) view otherwise."""
    console = console_for()
    async with client_for(target, token) as client:
        if export is not None or not console.is_terminal:
            snapshot = await take_snapshot(client, target, hours=WINDOW_SECONDS / 3600)
            view = top_view(snapshot, target.url, WINDOW_SECONDS)
            if export is not None:
                _export(view, export)
            else:
                console.print(view)
            return 0
        await _live(console, client, target, interval)
    return 0


async def _live(
    console: Console,
    client: httpx.AsyncClient,
    target: GatewayTarget,
    interval: float,
) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    stdin = sys.stdin.fileno() if sys.stdin.isatty() else None

    def key() -> None:
        if stdin is not None and os.read(stdin, 1).decode(errors="ignore") in QUIT_KEYS:
            stop.set()

    loop.add_signal_handler(signal.SIGINT, stop.set)
    with contextlib.ExitStack() as undo:
        undo.callback(loop.remove_signal_handler, signal.SIGINT)
        if stdin is not None:
            undo.enter_context(keys_without_echo(stdin))
            loop.add_reader(stdin, key)
            undo.callback(loop.remove_reader, stdin)
        snapshot = await take_snapshot(client, target, hours=WINDOW_SECONDS / 3600)
        with Live(
            top_view(snapshot, target.url, WINDOW_SECONDS),
            console=console,
            screen=True,
            auto_refresh=False,
        ) as live:
            while not stop.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), interval)
                if stop.is_set():
                    break
                try:
                    snapshot = await take_snapshot(client, target, hours=WINDOW_SECONDS / 3600)
                except CommandError as error:  # the gateway went away: say so, keep trying
                    view = Group(
                        Text(f"{datetime.now(UTC):%H:%M:%S} {error.message}", style="bold red"),
                        top_view(snapshot, target.url, WINDOW_SECONDS),
                    )
                else:
                    view = top_view(snapshot, target.url, WINDOW_SECONDS)
                live.update(view, refresh=True)


def _export(view: RenderableType, path: Path) -> None:
    recorder = Console(record=True, width=EXPORT_WIDTH, file=io.StringIO())
    recorder.print(view)
    suffix = path.suffix.lower()
    if suffix == ".svg":
        recorder.save_svg(str(path), title="ollamon top", code_format=SVG_FORMAT)
    elif suffix in (".html", ".htm"):
        recorder.save_html(str(path))
    else:
        recorder.save_text(str(path))
