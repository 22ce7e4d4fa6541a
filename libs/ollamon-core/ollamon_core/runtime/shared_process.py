"""Several services in one process: one event loop, each service still its own lifespan.

`ollamon up` runs its services this way by default (docs/decisions/0022-one-process.md):
each service enters its own lifespan with its own settings, so it keeps its own NATS
connection and user (its permissions), its own background tasks and its own teardown; what
they share is the interpreter, its imports and the event loop. Each service's lifespan runs
in its own task, started in the order given; log lines name the service whose task (or a
task it started) wrote them (`log_context`). A service whose start fails or whose
background task crashes stops them all and the process exits 1: its supervisor starts the
process again, as it would a single service's.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass

from ollamon_core.events import ServiceName
from ollamon_core.runtime.log_context import configure_shared_logging, current_service
from ollamon_core.runtime.process import run_until_signalled
from ollamon_core.settings import ServiceSettings


@dataclass(frozen=True)
class HostedService:
    """One service of the process: who it is, its settings, and its lifespan over them."""

    service: ServiceName
    settings: ServiceSettings
    lifespan: Callable[[ServiceSettings], AbstractAsyncContextManager[object]]


async def _serve_one(hosted: HostedService, stop: asyncio.Event) -> None:
    current_service.set(hosted.service.value)  # this task's context, and its children's
    async with hosted.lifespan(hosted.settings):
        await stop.wait()


async def serve_together(services: Sequence[HostedService], stop: asyncio.Event) -> None:
    """Run every service's lifespan until `stop`, then leave them all.

    Raises:
        ExceptionGroup: what stopped a service (its start failed, or a background task
            crashed); the other services were stopped first.
    """
    async with asyncio.TaskGroup() as group:
        for hosted in services:
            group.create_task(_serve_one(hosted, stop), name=hosted.service.value)


def run_services(
    services: Sequence[HostedService],
    *,
    loop_factory: Callable[[], asyncio.AbstractEventLoop] | None = None,
) -> None:
    """Run `services` in this process until SIGTERM or SIGINT (`python -m ollamon_cli.services`).

    Exits with status 1 when a service stopped by an error, as `run_service` does.
    """
    if not services:
        raise ValueError("no service to run")
    configure_shared_logging(services[0].settings.log_level, default="services")
    names = ", ".join(hosted.service.value for hosted in services)
    run_until_signalled(
        lambda stop: serve_together(services, stop), f"the services ({names})", loop_factory
    )
