"""The probe service: the proxy and the watcher, wired to NATS.

`running_probe` reads top to bottom: connect, open the upstream clients, subscribe to
control, answer health checks, serve the proxy, watch and beat.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx

from ollamon_core import subjects
from ollamon_core.bus import SpoolConfig
from ollamon_core.events import MonitoringControl, OllamaSystemMetrics, ServiceName
from ollamon_core.redaction import redact_url
from ollamon_core.runtime import ServiceRuntime, service_runtime
from ollamon_probe.benchmark_runner import RunContext
from ollamon_probe.benchmark_service import BenchmarkService, loopback_url
from ollamon_probe.benchmark_tap import BenchmarkTap
from ollamon_probe.host_samples import HostSamples
from ollamon_probe.hosts import host_labels
from ollamon_probe.in_flight import publish_in_flight
from ollamon_probe.log_follow import file_lines, journal_lines
from ollamon_probe.log_source import LogSource, ProxiedBook
from ollamon_probe.proxy import ProxyApp, create_proxy_app
from ollamon_probe.request_event import Origin
from ollamon_probe.residency import ResidencyBook
from ollamon_probe.server import proxy_limits, serving
from ollamon_probe.settings import ProbeSettings
from ollamon_probe.upstream import create_proxy_pool, create_watcher_client
from ollamon_probe.watcher import Watcher

log = logging.getLogger(__name__)

# A system sample older than this many sampling intervals (30 s at least) gives no request
# its GPU utilisation.
SAMPLE_MAX_AGE_INTERVALS = 3
# The outbox gathers the request events of this long into one batch of JetStream publishes
# (`outbox_linger_seconds`): at 10 requests/s two or three share a write and an
# acknowledgement wake-up. A tenth of alerting's 1 s evaluation; the dashboard sees an event
# that much later.
OUTBOX_LINGER_SECONDS = 0.1


@contextlib.asynccontextmanager
async def running_probe(settings: ProbeSettings) -> AsyncIterator[ServiceRuntime]:
    """Run the probe until the block ends; in-flight proxied requests finish first."""
    spool = SpoolConfig(settings.spool_folder(ServiceName.PROBE.value), settings.spool_max_bytes)
    async with service_runtime(
        ServiceName.PROBE, settings, spool=spool, outbox_linger_seconds=OUTBOX_LINGER_SECONDS
    ) as runtime:
        bus = runtime.bus
        http_client = await runtime.enter(create_watcher_client(settings))
        proxy_upstream = create_proxy_pool(settings)
        runtime.on_close(proxy_upstream.close)
        residency = ResidencyBook()
        watcher = Watcher(
            host_labels(settings.ollama_urls, settings.host_label),
            bus,
            http_client,
            residency,
            settings.monitoring_interval_seconds,
            counters=bus.counters,
        )
        runtime.on_close(watcher.close)

        # The collector's latest sample of each host: a request's GPU utilisation.
        host_samples = HostSamples(
            max_age_seconds=max(
                SAMPLE_MAX_AGE_INTERVALS * settings.monitoring_interval_seconds, 30.0
            )
        )

        async def on_system(sample: OllamaSystemMetrics, _msg: Any) -> None:
            host_samples.add(sample)

        runtime.unsubscribe_at_close(await bus.subscribe(subjects.SYSTEM, on_system))

        async def on_control(control: MonitoringControl, _msg: Any) -> None:
            watcher.apply(control)
            log.info("watcher %s, every %.1fs", control.action.value, watcher.interval_seconds)

        runtime.unsubscribe_at_close(await bus.subscribe(subjects.CONTROL_MONITORING, on_control))
        runtime.unsubscribe_at_close(
            await bus.serve(subjects.CONTROL_HEALTH_CHECK, watcher.health_check)
        )
        # The proxy's events pass the book: Ollama's log is matched against them.
        book = ProxiedBook(bus)
        app = create_proxy_app(
            settings,
            book,
            proxy_upstream,
            residency,
            counters=bus.counters,
            host_samples=host_samples,
        )
        proxy_url = await runtime.enter(
            serving(
                app,
                settings.proxy_host,
                settings.proxy_port,
                proxy_limits(settings),
                counters=bus.counters,
            )
        )
        log.info("Ollama proxy on %s -> %s", proxy_url, redact_url(settings.ollama_urls[0]))
        await _serve_benchmarks(settings, runtime, app, proxy_url, http_client, host_samples)
        runtime.start_task(watcher.run(), name="watcher")
        runtime.start_task(
            publish_in_flight(
                app.in_flight, app.origin, bus.publish, settings.monitoring_interval_seconds
            ),
            name="in-flight",
        )
        _follow_ollama_log(settings, runtime, book, app.origin)
        runtime.start_heartbeat(lambda: "running" if watcher.enabled else "paused")
        yield runtime


async def _serve_benchmarks(
    settings: ProbeSettings,
    runtime: ServiceRuntime,
    app: ProxyApp,
    proxy_url: str,
    http_client: httpx.AsyncClient,
    host_samples: HostSamples,
) -> None:
    """Answer benchmark requests: runs through the proxy (docs/decisions/0023)."""
    context = RunContext(
        proxy_url=loopback_url(proxy_url),
        upstream_url=app.upstream_url,
        shown_url=app.origin.shown_url,
        host=app.origin.host,
        http=http_client,
        tap=BenchmarkTap.attach(app),
        publish=runtime.bus.publish,
        gpu_name=lambda: host_samples.gpu_name(app.origin.host),
        request_timeout_seconds=settings.upstream_timeout_seconds,
    )
    benchmarks = BenchmarkService(
        context, quiet_seconds=settings.benchmark_quiet_seconds, emit=runtime.bus.emit
    )
    runtime.on_close(benchmarks.close)
    # Any probe's route, and this host's own (a request naming the host goes there alone).
    for route in (subjects.CONTROL_BENCHMARK, subjects.benchmark_route(app.origin.host)):
        runtime.unsubscribe_at_close(await runtime.bus.serve(route, benchmarks.handle))


LOG_POLL_SECONDS = 0.25


def _follow_ollama_log(
    settings: ProbeSettings, runtime: ServiceRuntime, book: ProxiedBook, origin: Origin
) -> None:
    """Follow Ollama's server log (the file, else the journald unit) where one is set."""
    if settings.ollama_log_path:
        batches = file_lines(str(Path(settings.ollama_log_path).expanduser()), LOG_POLL_SECONDS)
        shown = settings.ollama_log_path
    elif settings.ollama_log_unit:
        batches = journal_lines(settings.ollama_log_unit, LOG_POLL_SECONDS)
        shown = f"journald unit {settings.ollama_log_unit}"
    else:
        return
    source = LogSource(
        book,
        origin,
        runtime.bus.counters,
        grace_seconds=settings.ollama_log_grace_seconds,
        utc_offset_minutes=settings.ollama_log_utc_offset_minutes,
    )
    runtime.start_task(source.run(batches), name="ollama-log")
    log.info("following Ollama's log: %s", shown)
