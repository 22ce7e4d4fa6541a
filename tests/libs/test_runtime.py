"""The service runtime: reverse-order teardown, failed starts, named tasks, crashes, SIGTERM.

In-process over the session's real nats-server, and as processes (`toy_service.py`).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from ollamon_core import subjects
from ollamon_core.bus import Bus
from ollamon_core.events import Heartbeat, ServiceName
from ollamon_core.runtime import (
    BackgroundTaskError,
    ServiceRuntime,
    run_until_stopped,
    serve_until,
    service_runtime,
)
from ollamon_core.settings import ServiceSettings
from tests.conftest import BusFactory
from tests.support.waiting import wait_for

TOY_SERVICE = Path(__file__).with_name("toy_service.py")
SERVICE = ServiceName.COLLECTOR


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


def settings_for(url: str) -> ServiceSettings:
    return ServiceSettings(nats_url=url, heartbeat_interval_seconds=0.1)


@contextlib.asynccontextmanager
async def recorded(name: str, log: list[str]) -> AsyncIterator[str]:
    log.append(f"open {name}")
    try:
        yield name
    finally:
        log.append(f"close {name}")


async def forever(log: list[str], name: str) -> None:
    try:
        await asyncio.Event().wait()
    finally:
        log.append(f"stop {name}")


async def test_everything_opened_is_undone_in_reverse_order_and_the_bus_closes_last(
    clean_nats_url: str,
) -> None:
    log: list[str] = []
    async with service_runtime(SERVICE, settings_for(clean_nats_url)) as runtime:
        bus = runtime.bus
        await runtime.enter(recorded("database", log))
        runtime.on_close(lambda: log.append(f"bus open: {not bus.nc.is_closed}"))
        runtime.start_task(forever(log, "ingest"), name="ingest")
        await runtime.enter(recorded("server", log))
        runtime.start_task(forever(log, "watcher"), name="watcher")
        await asyncio.sleep(0)  # let the tasks start
        assert bus.nc.is_connected
    assert log == [
        "open database",
        "open server",
        "stop watcher",
        "close server",
        "stop ingest",
        "bus open: True",
        "close database",
    ]
    assert bus.nc.is_closed


async def test_a_failed_start_closes_what_it_had_opened_and_the_nats_connection(
    clean_nats_url: str,
) -> None:
    log: list[str] = []
    buses: list[Bus] = []

    @contextlib.asynccontextmanager
    async def running_broken(settings: ServiceSettings) -> AsyncIterator[ServiceRuntime]:
        async with service_runtime(SERVICE, settings) as runtime:
            buses.append(runtime.bus)
            await runtime.enter(recorded("database", log))
            runtime.start_task(forever(log, "ingest"), name="ingest")
            await asyncio.sleep(0)
            raise OSError("the port is taken")
            yield runtime  # never reached

    with pytest.raises(ExceptionGroup) as raised:
        async with running_broken(settings_for(clean_nats_url)):
            raise AssertionError("the lifespan should not have started")
    assert [type(error) for error in raised.value.exceptions] == [OSError]
    assert log == ["open database", "stop ingest", "close database"]
    [bus] = buses
    assert bus.nc.is_closed


async def test_background_tasks_run_under_their_names_and_a_name_is_taken_once(
    clean_nats_url: str,
) -> None:
    log: list[str] = []
    async with service_runtime(SERVICE, settings_for(clean_nats_url)) as runtime:
        runtime.start_task(forever(log, "sampling"), name="sampling")
        runtime.start_heartbeat()
        assert list(runtime.tasks) == ["sampling", "heartbeat"]
        running = {task.get_name() for task in asyncio.all_tasks()}
        assert {"sampling", "heartbeat"} <= running
        with pytest.raises(ValueError, match="sampling"):
            runtime.start_task(forever(log, "again"), name="sampling")
    assert all(task.done() for task in runtime.tasks.values())


async def test_a_crashed_background_task_stops_the_service_logged_and_raised(
    clean_nats_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    log: list[str] = []
    started = asyncio.Event()

    async def doomed() -> None:
        await started.wait()
        raise RuntimeError("disk full")

    async def swallows_cancel() -> None:
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.Event().wait()

    with pytest.raises(ExceptionGroup) as raised:
        async with service_runtime(SERVICE, settings_for(clean_nats_url)) as runtime:
            await runtime.enter(recorded("database", log))
            runtime.start_task(forever(log, "watcher"), name="watcher")
            runtime.start_task(swallows_cancel(), name="stubborn")
            runtime.start_task(doomed(), name="doomed")
            started.set()
            async with asyncio.timeout(10):  # the crash ends this wait at once
                await asyncio.Event().wait()
    [error] = raised.value.exceptions  # only the crash: the others were stopped by it
    assert isinstance(error, BackgroundTaskError)
    assert error.task_name == "doomed"
    assert isinstance(error.__cause__, RuntimeError)
    assert log == ["open database", "stop watcher", "close database"]
    assert runtime.bus.nc.is_closed
    assert "background task 'doomed' crashed" in caplog.text


async def test_a_background_task_that_returns_while_the_service_runs_stops_it(
    clean_nats_url: str,
) -> None:
    async def gives_up() -> None:
        await asyncio.sleep(0)

    with pytest.raises(ExceptionGroup) as raised:
        async with service_runtime(SERVICE, settings_for(clean_nats_url)) as runtime:
            runtime.start_task(gives_up(), name="gives-up")
            async with asyncio.timeout(10):
                await asyncio.Event().wait()
    [error] = raised.value.exceptions
    assert isinstance(error, BackgroundTaskError)
    assert "ended while the service was running" in str(error)


async def test_a_task_with_a_stop_function_finishes_its_work_instead_of_being_cancelled(
    clean_nats_url: str,
) -> None:
    log: list[str] = []
    stopping = asyncio.Event()

    async def ingest() -> None:
        await stopping.wait()
        await asyncio.sleep(0.05)  # the batch in progress
        log.append("last batch committed")

    async with service_runtime(SERVICE, settings_for(clean_nats_url)) as runtime:
        task = runtime.start_task(ingest(), name="ingest", stop=stopping.set)
    assert log == ["last batch committed"]
    assert not task.cancelled()


async def test_the_heartbeat_carries_the_state_the_service_reports(
    clean_nats_url: str, bus_factory: BusFactory
) -> None:
    observer = await bus_factory(ServiceName.GATEWAY)
    beats: list[Heartbeat] = []

    async def keep(beat: Heartbeat, _msg: Any) -> None:
        beats.append(beat)

    await observer.subscribe(subjects.heartbeat_subject(SERVICE), keep)
    await observer.nc.flush()
    async with service_runtime(SERVICE, settings_for(clean_nats_url)) as runtime:
        runtime.bus.counters["samples"] = 3
        runtime.start_heartbeat(lambda: "paused")
        await wait_for(lambda: beats, 5, "a heartbeat")
    assert (beats[0].service, beats[0].state, beats[0].pid) == (SERVICE, "paused", os.getpid())
    assert beats[0].counters["samples"] == 3


async def test_setting_stop_leaves_the_lifespan(clean_nats_url: str) -> None:
    log: list[str] = []

    @contextlib.asynccontextmanager
    async def running_small(settings: ServiceSettings) -> AsyncIterator[ServiceRuntime]:
        async with service_runtime(SERVICE, settings) as runtime:
            await runtime.enter(recorded("database", log))
            yield runtime

    stop = asyncio.Event()
    serving = asyncio.create_task(serve_until(running_small, settings_for(clean_nats_url), stop))
    await wait_for(lambda: log == ["open database"], 10, "started")
    stop.set()
    await asyncio.wait_for(serving, 10)
    assert log == ["open database", "close database"]


async def run_toy(url: str, *, crash: bool) -> tuple[int, list[str], str]:
    """Run `toy_service.py`; without a crash, SIGTERM it once ready. Its exit, stdout, stderr."""
    env = os.environ | {"OLLAMON_NATS_URL": url, "TOY_CRASH": "1" if crash else "0"}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(TOY_SERVICE),
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    seen: list[str] = []
    try:
        if not crash:
            async with asyncio.timeout(20):
                while "ready" not in seen:
                    seen.append((await process.stdout.readline()).decode().strip())
            process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(20):
            stdout, stderr = await process.communicate()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode is not None
    return process.returncode, seen + stdout.decode().splitlines(), stderr.decode()


async def test_sigterm_stops_a_service_process_through_its_teardown_with_status_0(
    clean_nats_url: str,
) -> None:
    code, lines, stderr = await run_toy(clean_nats_url, crash=False)
    assert code == 0, stderr[-3000:]
    assert lines[-3:] == [
        "work stopped",
        "closed the second resource",
        "closed the first resource",
    ]
    assert "Traceback" not in stderr


async def test_a_service_process_whose_task_crashed_exits_with_status_1_after_teardown(
    clean_nats_url: str,
) -> None:
    code, lines, stderr = await run_toy(clean_nats_url, crash=True)
    assert code == 1
    assert lines[-3:] == [
        "work stopped",
        "closed the second resource",
        "closed the first resource",
    ]
    assert "background task 'work' crashed" in stderr
    assert "the toy's work failed" in stderr
