"""`python -m ollamon_probe`: the Ollama proxy and watcher."""

from __future__ import annotations

import asyncio
import logging

from ollamon_core.runtime import configure_logging, run_service
from ollamon_probe.service import run_probe
from ollamon_probe.settings import ProbeSettings


def main() -> None:
    """Read settings, then run the probe until SIGTERM/SIGINT."""
    settings = ProbeSettings()
    configure_logging(settings.log_level, "probe")
    # httpx logs every request at INFO: noise, and a cost on the proxy's hot path.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    try:
        import uvloop  # the proxy's latency budget is small; uvloop halves the loop's cost
    except ImportError:  # pragma: no cover (uvicorn[standard] brings it)
        pass
    else:
        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())

    async def main_with_stop(stop: asyncio.Event) -> None:
        await run_probe(settings, stop)

    run_service(main_with_stop)


if __name__ == "__main__":
    main()
