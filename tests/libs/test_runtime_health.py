"""The heartbeat file and `python -m ollamon_core.runtime.health`, compose's healthcheck:
healthy while the service beats connected to NATS, unhealthy once it is not."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import AsyncIterator
from http import HTTPStatus
from pathlib import Path

import pytest

from ollamon_cli.nats_server import NatsServer, free_port
from ollamon_core.events import ServiceName
from ollamon_core.runtime import service_runtime
from ollamon_core.runtime.health import heartbeat_problem, write_health_file
from ollamon_core.settings import ServiceSettings
from tests.support.waiting import wait_for_async

SERVICE = ServiceName.STORAGE
INTERVAL_SECONDS = 0.2


async def health_command(
    health_file: Path | None, *extra: str, interval: float = INTERVAL_SECONDS
) -> tuple[int, str]:
    """Run the healthcheck as compose does (the container's environment); exit status, stderr."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OLLAMON_")}
    env["OLLAMON_HEARTBEAT_INTERVAL"] = str(interval)
    if health_file is not None:
        env["OLLAMON_HEALTH_FILE"] = str(health_file)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "ollamon_core.runtime.health",
        *extra,
        env=env,
        stderr=asyncio.subprocess.PIPE,
    )
    _, stderr = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode is not None
    return process.returncode, stderr.decode()


async def test_a_beating_service_is_healthy_and_one_that_lost_nats_is_not(
    isolated_nats_server: NatsServer, tmp_path: Path
) -> None:
    health_file = tmp_path / "health"
    settings = ServiceSettings(
        nats_url=isolated_nats_server.url,
        heartbeat_interval_seconds=INTERVAL_SECONDS,
        health_file=health_file,
    )
    status, stderr = await health_command(health_file)
    assert status == 1 and "no heartbeat yet" in stderr

    async with service_runtime(SERVICE, settings) as runtime:
        runtime.start_heartbeat()

        async def healthy() -> bool:
            return (await health_command(health_file))[0] == 0

        await wait_for_async(healthy, 10, "healthy once beating")
        await asyncio.to_thread(isolated_nats_server.stop)

        async def unhealthy() -> bool:
            return (await health_command(health_file))[0] == 1

        await wait_for_async(unhealthy, 10, "unhealthy with NATS gone")
        status, stderr = await health_command(health_file)
        assert "s ago" in stderr
        await asyncio.to_thread(isolated_nats_server.start)
        await wait_for_async(healthy, 15, "healthy again once NATS is back")


async def test_without_a_health_file_setting_the_command_says_so() -> None:
    status, stderr = await health_command(None)
    assert status == 1
    assert "OLLAMON_HEALTH_FILE" in stderr


def test_a_file_older_than_three_beats_is_a_problem(tmp_path: Path) -> None:
    path = tmp_path / "health"
    write_health_file(path, "storage", "running")
    now = time.time()
    assert heartbeat_problem(path, 3 * INTERVAL_SECONDS, now) is None
    problem = heartbeat_problem(path, 3 * INTERVAL_SECONDS, now + 10)
    assert problem is not None and "ago" in problem
    path.write_text("not a time")
    assert "unreadable" in (heartbeat_problem(path, 1.0) or "")


@pytest.fixture
async def http_answer() -> AsyncIterator[tuple[str, list[int]]]:
    """A loopback HTTP server answering the status in the list's first item."""
    statuses = [HTTPStatus.OK.value]

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(f"HTTP/1.1 {statuses[0]} X\r\nContent-Length: 0\r\n\r\n".encode())
        await writer.drain()
        writer.close()

    port = free_port()
    server = await asyncio.start_server(answer, "127.0.0.1", port)
    try:
        yield f"http://127.0.0.1:{port}/status", statuses
    finally:
        server.close()
        await server.wait_closed()


async def test_with_http_the_url_must_answer_2xx_too(
    tmp_path: Path, http_answer: tuple[str, list[int]]
) -> None:
    url, statuses = http_answer
    health_file = tmp_path / "health"
    await asyncio.to_thread(write_health_file, health_file, "gateway", "running")
    assert (await health_command(health_file, "--http", url, interval=60))[0] == 0
    statuses[0] = HTTPStatus.SERVICE_UNAVAILABLE.value
    status, stderr = await health_command(health_file, "--http", url, interval=60)
    assert status == 1 and "503" in stderr
    closed = f"http://127.0.0.1:{free_port()}/status"
    assert (await health_command(health_file, "--http", closed, interval=60))[0] == 1
