"""`python -m ollamon_collector`: the collector service."""

from __future__ import annotations

import asyncio

from ollamon_collector.service import run_collector
from ollamon_collector.settings import CollectorSettings
from ollamon_core.events import ServiceName
from ollamon_core.runtime import configure_logging, run_service


def main() -> None:
    """Read the settings, then run the collector until SIGTERM or SIGINT."""
    settings = CollectorSettings()
    configure_logging(settings.log_level, ServiceName.COLLECTOR.value)

    async def collector(stop: asyncio.Event) -> None:
        await run_collector(settings, stop)

    run_service(collector)


if __name__ == "__main__":
    main()
