"""The whole stack (`ollamon up`) against a switchable Ollama, watched from outside."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nats
from nats.aio.client import Client as NatsClient

from ollama_emulator.config import EmulatorConfig, fast_config
from ollamon_core import subjects
from tests.faults.faulty_ollama import FaultyOllama
from tests.faults.observers import SERVICES, AlertLog, HeartbeatLog, watch
from tests.support.stack import RunningStack, start_stack, stop_stack
from tests.support.waiting import wait_for

ALL_ALIVE_TIMEOUT_SECONDS = 30.0


@dataclass
class FaultStack:
    """A running stack, its Ollama, and the observers' connection and logs."""

    stack: RunningStack
    ollama: FaultyOllama
    nc: NatsClient
    heartbeats: HeartbeatLog
    alerts: AlertLog

    def query(self, sql: str, *parameters: object) -> list[tuple[Any, ...]]:
        """Run a read-only query on storage's SQLite file (from a thread in async code)."""
        uri = f"file:{self.stack.database_path}?mode=ro"
        with contextlib.closing(sqlite3.connect(uri, uri=True, timeout=10)) as db:
            return list(db.execute(sql, parameters))

    async def query_async(self, sql: str, *parameters: object) -> list[tuple[Any, ...]]:
        """`query` off the event loop."""
        return await asyncio.to_thread(self.query, sql, *parameters)


async def observer_connection(url: str, **login: str) -> NatsClient:
    """A plain nats-py client that keeps reconnecting quickly (it outlives NATS restarts);
    on the embedded server it logs in as the admin (`RunningStack.nats_login`)."""
    return await nats.connect(url, reconnect_time_wait=0.1, max_reconnect_attempts=-1, **login)


@contextlib.asynccontextmanager
async def fault_stack(
    tmp_path: Path,
    *,
    nats_url: str | None = None,
    config: EmulatorConfig | None = None,
    env: Mapping[str, str] | None = None,
) -> AsyncIterator[FaultStack]:
    """Start Ollama (switchable) and `ollamon up`; yield once every service has a heartbeat."""
    async with FaultyOllama(config or fast_config()) as ollama:
        stack = await asyncio.to_thread(
            start_stack, tmp_path / "data", ollama.url, nats_url, **(env or {})
        )
        nc: NatsClient | None = None
        try:
            login = await asyncio.to_thread(stack.nats_login)  # reads the credentials file
            nc = await observer_connection(stack.nats_url, **login)
            heartbeats, alerts = HeartbeatLog(), AlertLog()
            await watch(nc, subjects.HEARTBEAT_ALL, heartbeats)
            await watch(nc, subjects.ALERTS_ALL, alerts)
            await wait_for(
                lambda: heartbeats.services_alive() >= set(SERVICES),
                timeout=ALL_ALIVE_TIMEOUT_SECONDS,
                message="a heartbeat from every service",
            )
            yield FaultStack(stack, ollama, nc, heartbeats, alerts)
        finally:
            if nc is not None:
                await nc.close()
            await asyncio.to_thread(stop_stack, stack)
