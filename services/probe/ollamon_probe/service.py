"""The probe service: the proxy and the watcher, wired to NATS."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from ollamon_core import subjects
from ollamon_core.bus import Bus
from ollamon_core.events import MonitoringControl, ServiceName
from ollamon_core.runtime import heartbeat_loop
from ollamon_probe.hosts import host_labels
from ollamon_probe.proxy import create_proxy_app
from ollamon_probe.residency import ResidencyBook
from ollamon_probe.server import serving
from ollamon_probe.settings import ProbeSettings
from ollamon_probe.upstream import create_proxy_pool, create_watcher_client
from ollamon_probe.watcher import Watcher

log = logging.getLogger(__name__)


async def run_probe(settings: ProbeSettings, stop: asyncio.Event) -> None:
    """Run until `stop` is set: connect, watch, proxy, heartbeat; then drain."""
    bus = await Bus.connect(settings.nats_url, ServiceName.PROBE)
    await bus.ensure_streams()
    http_client = create_watcher_client(settings)
    proxy_upstream = create_proxy_pool(settings)
    residency = ResidencyBook()
    watcher = Watcher(
        host_labels(settings.ollama_urls, settings.host_label),
        bus,
        http_client,
        residency,
        settings.monitoring_interval_seconds,
        counters=bus.counters,
    )

    async def on_control(control: MonitoringControl, _msg: Any) -> None:
        watcher.apply(control)
        log.info("watcher %s, every %.1fs", control.action.value, watcher.interval_seconds)

    await bus.subscribe(subjects.CONTROL_MONITORING, on_control)
    await bus.serve(subjects.CONTROL_HEALTH_CHECK, watcher.health_check)
    app = create_proxy_app(settings, bus, proxy_upstream, residency, counters=bus.counters)
    tasks = [
        asyncio.create_task(watcher.run(), name="watcher"),
        asyncio.create_task(
            heartbeat_loop(
                bus,
                ServiceName.PROBE,
                settings.host_label,
                settings.heartbeat_interval_seconds,
                lambda: "running" if watcher.enabled else "paused",
            ),
            name="heartbeat",
        ),
    ]
    try:
        async with serving(app, settings.proxy_host, settings.proxy_port) as proxy_url:
            log.info("Ollama proxy on %s -> %s", proxy_url, settings.ollama_urls[0])
            await stop.wait()
    finally:
        for task in tasks:
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*tasks, return_exceptions=True)
        await http_client.aclose()
        await proxy_upstream.close()
        await bus.close()
