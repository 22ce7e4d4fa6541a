"""`ollamon status` and `ollamon top` (cli/ollamon_cli/status.py, top.py) against a live
gateway, run as a user runs them: a child process whose stdout is a pipe."""

from __future__ import annotations

import asyncio
import os
import pty
import re
import select
import subprocess
import sys
import time
from pathlib import Path

from litestar import Litestar

from ollamon_core.bus import Bus
from ollamon_core.events import Heartbeat, LoadedModel, OllamaModelsSnapshot, ServiceName, utc_now
from ollamon_gateway.server import AppServer
from tests.cli.commands import command_environment
from tests.services.gateway.conftest import gateway_of
from tests.services.gateway.stubs import HOST, OLLAMA_URL, Responder
from tests.support.waiting import wait_for_async

LOADED_MODEL = "qwen2.5:72b-instruct"


async def ollamon(*args: str, cwd: Path) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "ollamon_cli.main",
        *args,
        cwd=cwd,
        env=command_environment(cwd),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode is not None
    return process.returncode, stdout.decode(), stderr.decode()


async def seen_by_the_gateway(app: Litestar, publisher: Bus) -> None:
    """Publish a models snapshot and a heartbeat until the gateway has both."""
    snapshot = OllamaModelsSnapshot(
        host=HOST,
        ollama_url=OLLAMA_URL,
        loaded=[
            LoadedModel(name=LOADED_MODEL, size_bytes=40 * 1024**3, size_vram_bytes=40 * 1024**3)
        ],
    )
    beat = Heartbeat(
        host=HOST, service=ServiceName.PROBE, version="0.1.0", pid=1, started_at=utc_now()
    )
    gateway = gateway_of(app)

    async def both() -> bool:
        await publisher.publish(snapshot)
        await publisher.publish(beat)
        return bool(gateway.live.services()) and bool(gateway.live.loaded_models())

    await wait_for_async(both, timeout=10, message="the gateway saw the snapshot and heartbeat")


async def test_status_prints_one_screen_and_exits_3_while_services_are_missing(
    live_server: AppServer, app: Litestar, storage: Responder, publisher: Bus, tmp_path: Path
) -> None:
    await seen_by_the_gateway(app, publisher)
    code, out, err = await ollamon("status", "--url", live_server.url, cwd=tmp_path)
    assert err == ""
    assert code == 3  # only the probe has sent a heartbeat
    for part in ("Services", "MISSING", "Loaded models", LOADED_MODEL, "Firing alerts"):
        assert part in out
    assert "slow_response" in out  # storage's active alert
    assert "llama3.2:1b" in out  # storage's per-model summary
    assert "\x1b[" not in out  # a pipe gets no colour


async def test_top_into_a_pipe_prints_the_view_once_and_exports_an_svg(
    live_server: AppServer, app: Litestar, storage: Responder, publisher: Bus, tmp_path: Path
) -> None:
    await seen_by_the_gateway(app, publisher)
    code, out, err = await ollamon("top", "--url", live_server.url, cwd=tmp_path)
    assert (code, err) == (0, "")
    assert "Models (last 60 s)" in out
    assert "req/s" in out
    assert LOADED_MODEL in out
    svg = tmp_path / "top.svg"
    code, _, err = await ollamon(
        "top", "--url", live_server.url, "--export", str(svg), cwd=tmp_path
    )
    assert (code, err) == (0, "")
    picture = await asyncio.to_thread(svg.read_text)
    assert picture.startswith("<svg")
    assert LOADED_MODEL in picture
    # Nothing to fetch: rich's default template loads its font from a CDN.
    assert not re.findall(r"url\(\s*[\"']?https?:", picture)


def top_on_a_terminal(url: str, cwd: Path, keys: bytes) -> tuple[int, bytes]:
    """`ollamon top` with a pseudo-terminal as stdin and stdout: read until the view shows,
    type `keys`, read until it ends; its exit status and everything it drew."""
    controller, terminal = pty.openpty()
    env = command_environment(cwd, {"TERM": "xterm-256color", "COLUMNS": "160", "LINES": "60"})
    process = subprocess.Popen(
        [sys.executable, "-m", "ollamon_cli.main", "top", "--url", url, "--interval", "0.5"],
        cwd=cwd,
        env=env,
        stdin=terminal,
        stdout=terminal,
        stderr=terminal,
    )
    os.close(terminal)
    drawn = b""
    try:
        deadline = time.monotonic() + 20
        while b"Loaded models" not in drawn and time.monotonic() < deadline:
            if select.select([controller], [], [], 0.2)[0]:
                drawn += os.read(controller, 65536)
        os.write(controller, keys)
        while True:
            if select.select([controller], [], [], 0.2)[0]:
                try:
                    chunk = os.read(controller, 65536)
                except OSError:  # the child closed the terminal
                    break
                if not chunk:
                    break
                drawn += chunk
            elif process.poll() is not None:
                break
        return process.wait(timeout=10), drawn
    finally:
        if process.poll() is None:
            process.kill()
        os.close(controller)


async def test_top_on_a_terminal_draws_live_and_q_gives_the_terminal_back(
    live_server: AppServer, app: Litestar, storage: Responder, publisher: Bus, tmp_path: Path
) -> None:
    await seen_by_the_gateway(app, publisher)
    started = time.monotonic()
    code, drawn = await asyncio.to_thread(top_on_a_terminal, live_server.url, tmp_path, b"q")
    assert code == 0
    assert time.monotonic() - started < 20
    assert LOADED_MODEL.encode() in drawn
    assert b"\x1b[?1049h" in drawn  # the alternate screen, as htop uses
    assert drawn.rstrip().endswith(b"\x1b[?1049l")  # ... left, the shell's screen back
    assert b"Traceback" not in drawn
