"""A small service on the runtime, run as a process by `test_runtime.py`.

It says on stdout what it opens and closes. With `TOY_CRASH=1` its background task
raises once the service is ready.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator

from ollamon_core.events import ServiceName
from ollamon_core.runtime import ServiceRuntime, run_service, service_runtime
from ollamon_core.settings import ServiceSettings


def say(line: str) -> None:
    print(line, flush=True)


async def work(crash: bool) -> None:
    try:
        if crash:
            raise RuntimeError("the toy's work failed")
        await asyncio.Event().wait()
    finally:
        say("work stopped")


@contextlib.asynccontextmanager
async def running_toy(settings: ServiceSettings) -> AsyncIterator[ServiceRuntime]:
    async with service_runtime(ServiceName.COLLECTOR, settings) as runtime:
        say("opened the first resource")
        runtime.on_close(lambda: say("closed the first resource"))
        say("opened the second resource")
        runtime.on_close(lambda: say("closed the second resource"))
        say("ready")
        runtime.start_task(work(os.environ.get("TOY_CRASH") == "1"), name="work")
        yield runtime


if __name__ == "__main__":
    run_service(ServiceName.COLLECTOR, ServiceSettings, running_toy)
