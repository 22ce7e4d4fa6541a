"""How a service process runs: stop on request, and never hang on a stuck start."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time

from ollamon_core.runtime import run_until_stopped


async def test_main_returns_by_itself_when_stop_is_set() -> None:
    stop = asyncio.Event()
    finished: list[str] = []

    async def main(stop: asyncio.Event) -> None:
        await stop.wait()
        finished.append("cleaned up")

    stop.set()
    await run_until_stopped(main, stop, grace_seconds=1)
    assert finished == ["cleaned up"]


async def test_a_main_that_ignores_stop_is_cancelled_after_the_grace_period() -> None:
    stop = asyncio.Event()
    cancelled: list[bool] = []

    async def stuck(stop: asyncio.Event) -> None:
        try:
            await asyncio.sleep(3600)  # e.g. waiting for a NATS server that is not there
        except asyncio.CancelledError:
            cancelled.append(True)
            raise

    stop.set()
    started = time.monotonic()
    await run_until_stopped(stuck, stop, grace_seconds=0.2)
    assert cancelled == [True]
    assert time.monotonic() - started < 5


async def test_an_error_in_main_propagates() -> None:
    async def broken(stop: asyncio.Event) -> None:
        raise RuntimeError("boom")

    try:
        await run_until_stopped(broken, asyncio.Event(), grace_seconds=0.2)
    except RuntimeError as error:
        assert str(error) == "boom"
    else:
        raise AssertionError("expected the error")


def test_a_service_waiting_for_an_absent_nats_server_stops_on_sigterm() -> None:
    env = {**os.environ, "OLLAMON_NATS_URL": "nats://127.0.0.1:1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "ollamon_alerting"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        time.sleep(1.5)
        assert process.poll() is None, "still trying to connect"
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode is not None
