"""Two small services in one process (`run_services`), run by `test_runtime_shared_process.py`.

Each logs a line as it starts and stops; with `TOY_FAIL=alerting` that one's start fails.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import AsyncIterator

from ollamon_core.events import ServiceName
from ollamon_core.runtime.shared_process import HostedService, run_services
from ollamon_core.settings import ServiceSettings

log = logging.getLogger("toy")


@contextlib.asynccontextmanager
async def running_toy(settings: ServiceSettings) -> AsyncIterator[None]:
    log.warning("started as %s", settings.host_label)
    if os.environ.get("TOY_FAIL") == settings.host_label:
        raise RuntimeError("the toy's start failed")
    try:
        yield
    finally:
        log.warning("stopped")


if __name__ == "__main__":
    run_services(
        [
            HostedService(name, ServiceSettings(host_label=name.value), running_toy)
            for name in (ServiceName.STORAGE, ServiceName.ALERTING)
        ]
    )
