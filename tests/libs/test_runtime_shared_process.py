"""Several services in one process: each its own lifespan, settings and NATS user; log lines
name the service that wrote them; one that fails stops them all."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager
from pathlib import Path

import pytest

from ollamon_core import subjects
from ollamon_core.events import Heartbeat, ServiceName
from ollamon_core.runtime import service_runtime
from ollamon_core.runtime.log_context import ServiceNameFilter
from ollamon_core.runtime.shared_process import HostedService, serve_together
from ollamon_core.settings import ServiceSettings
from tests.conftest import BusFactory
from tests.support.waiting import wait_for

TOY_SERVICES = Path(__file__).with_name("toy_services.py")
log = logging.getLogger("tests.shared_process")
Lifespan = Callable[[ServiceSettings], AbstractAsyncContextManager[object]]


class Kept(logging.Handler):
    """Keeps every record, with the shared process's filter on it."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []
        self.addFilter(ServiceNameFilter(default="services"))

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def kept() -> Iterator[Kept]:
    handler = Kept()
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    try:
        yield handler
    finally:
        log.removeHandler(handler)


def recording(events: list[str], fail: bool = False) -> Lifespan:
    @contextlib.asynccontextmanager
    async def lifespan(settings: ServiceSettings) -> AsyncIterator[None]:
        events.append(f"enter {settings.host_label}")
        log.info("entered")

        async def child() -> None:
            log.info("from a task it started")

        await asyncio.create_task(child())
        if fail:
            raise RuntimeError("its start failed")
        try:
            yield
        finally:
            events.append(f"exit {settings.host_label}")

    return lifespan


def hosted(service: ServiceName, events: list[str], fail: bool = False) -> HostedService:
    settings = ServiceSettings(host_label=service.value)
    return HostedService(service, settings, recording(events, fail))


async def test_each_service_enters_its_own_lifespan_with_its_settings_and_leaves_it_on_stop(
    kept: Kept,
) -> None:
    events: list[str] = []
    stop = asyncio.Event()
    services = [hosted(ServiceName.STORAGE, events), hosted(ServiceName.PROBE, events)]
    running = asyncio.create_task(serve_together(services, stop))
    await wait_for(lambda: len(kept.records) == 4, timeout=5, message="both started")
    log.info("outside any service")
    stop.set()
    await asyncio.wait_for(running, 5)
    assert events[:2] == ["enter storage", "enter probe"]
    assert sorted(events[2:]) == ["exit probe", "exit storage"]
    named = [(record.service, record.getMessage()) for record in kept.records]  # type: ignore[attr-defined]
    assert sorted(named[:4]) == [
        ("probe", "entered"),
        ("probe", "from a task it started"),
        ("storage", "entered"),
        ("storage", "from a task it started"),
    ]
    assert named[4] == ("services", "outside any service")


async def test_a_service_whose_start_fails_stops_the_others_and_the_error_is_raised() -> None:
    events: list[str] = []
    services = [
        hosted(ServiceName.STORAGE, events),
        hosted(ServiceName.PROBE, events, fail=True),
    ]
    with pytest.raises(ExceptionGroup) as raised:
        await asyncio.wait_for(serve_together(services, asyncio.Event()), 5)
    assert raised.group_contains(RuntimeError, match="its start failed")
    assert events == ["enter storage", "enter probe", "exit storage"]


async def test_services_sharing_a_process_each_keep_their_own_nats_connection(
    clean_nats_url: str, bus_factory: BusFactory
) -> None:
    watcher = await bus_factory(ServiceName.GATEWAY)
    beats: list[Heartbeat] = []

    async def on_heartbeat(msg: object) -> None:
        beats.append(Heartbeat.model_validate_json(msg.data))  # type: ignore[attr-defined]

    await watcher.nc.subscribe(subjects.HEARTBEAT_ALL, cb=on_heartbeat)
    await watcher.nc.flush()
    clients: dict[str, int] = {}

    def lifespan_of(name: ServiceName) -> Lifespan:
        @contextlib.asynccontextmanager
        async def lifespan(settings: ServiceSettings) -> AsyncIterator[None]:
            async with service_runtime(name, settings) as runtime:
                clients[name.value] = runtime.bus.nc.client_id or 0
                runtime.start_heartbeat()
                yield

        return lifespan

    settings = ServiceSettings(nats_url=clean_nats_url, heartbeat_interval_seconds=0.2)
    services = [
        HostedService(name, settings, lifespan_of(name))
        for name in (ServiceName.STORAGE, ServiceName.ALERTING)
    ]
    stop = asyncio.Event()
    running = asyncio.create_task(serve_together(services, stop))
    await wait_for(
        lambda: {beat.service for beat in beats} >= {"storage", "alerting"},
        timeout=10,
        message="a heartbeat from each",
    )
    stop.set()
    await asyncio.wait_for(running, 10)
    assert len(set(clients.values())) == 2


def run_toys(env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(TOY_SERVICES)],
        env={**os.environ, **env},
        stderr=subprocess.PIPE,
        text=True,
    )


def test_the_process_names_each_service_on_its_log_lines_and_stops_with_status_0() -> None:
    toys = run_toys({})
    assert toys.stderr is not None
    lines = [toys.stderr.readline(), toys.stderr.readline()]
    toys.send_signal(signal.SIGTERM)
    _, rest = toys.communicate(timeout=20)
    assert toys.returncode == 0, rest
    started = sorted(line.split(" ", 3)[2] for line in lines)
    assert started == ["alerting", "storage"]
    assert all("started as" in line for line in lines)
    stopped = [line for line in rest.splitlines() if line.endswith("toy: stopped")]
    assert sorted(line.split(" ", 3)[2] for line in stopped) == ["alerting", "storage"]


def test_a_service_whose_start_fails_makes_the_process_exit_1_after_stopping_the_other() -> None:
    toys = run_toys({"TOY_FAIL": "alerting"})
    _, output = toys.communicate(timeout=20)
    assert toys.returncode == 1
    assert "services CRITICAL" in output
    assert "the toy's start failed" in output
    assert [line.split(" ", 3)[2] for line in output.splitlines() if "toy: stopped" in line] == [
        "storage"
    ]
