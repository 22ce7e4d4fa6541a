"""`python -m ollamon_storage`: JetStream durable consumer into SQLite, history queries."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging

from ollamon_core import subjects
from ollamon_core.bus import Bus, QueryHandler
from ollamon_core.events import ServiceName
from ollamon_core.runtime import configure_logging, heartbeat_loop, run_service
from ollamon_storage.commands import Commands, cleanup_loop
from ollamon_storage.consumer import StorageConsumer
from ollamon_storage.database import Database
from ollamon_storage.ingest import Ingestor
from ollamon_storage.queries import QueryService
from ollamon_storage.settings import StorageSettings

log = logging.getLogger("ollamon_storage")
# Ingest allocates a few objects per message and keeps up to a consumer's worth of them
# alive; with Python's default gen0 threshold (700) the collector took ~15 % of its CPU.
GC_THRESHOLDS = (20_000, 20, 10)


def tune_garbage_collector() -> None:
    """Collect less often, and never rescan what the imports created (process-wide)."""
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


async def main(stop: asyncio.Event, settings: StorageSettings | None = None) -> None:
    """Run storage until `stop` is set."""
    settings = settings or StorageSettings()
    configure_logging(settings.log_level, ServiceName.STORAGE.value)
    database = await Database.open(settings.database_path)
    bus = await Bus.connect(settings.nats_url, ServiceName.STORAGE)
    await bus.ensure_streams(max_age_seconds=settings.retention_days * 86400, update_existing=True)

    ingestor = Ingestor(
        database,
        bus.counters,
        batch_size=settings.batch_size,
        batch_interval_seconds=settings.batch_interval_seconds,
    )
    consumer = StorageConsumer(bus, ingestor)
    queries = QueryService(database.reader)
    commands = Commands(database, settings)
    routes: dict[str, QueryHandler] = {
        subjects.QUERY_SUMMARY: queries.summary,
        subjects.QUERY_MODEL_METRICS: queries.model_metrics,
        subjects.QUERY_SYSTEM_HISTORY: queries.system_history,
        subjects.QUERY_ALERTS: queries.alerts,
        subjects.QUERY_TRENDS: queries.trends,
        subjects.QUERY_LIFECYCLE: queries.lifecycle,
        subjects.QUERY_EXPORT: commands.export,
        subjects.QUERY_CLEANUP: commands.cleanup,
        subjects.QUERY_BACKUP: commands.backup,
    }
    servers = [await bus.serve(subject, handler) for subject, handler in routes.items()]
    tasks = [
        asyncio.create_task(ingestor.run(), name="ingest"),
        asyncio.create_task(consumer.run_resyncs(), name="resync"),
        asyncio.create_task(
            cleanup_loop(commands, settings.cleanup_interval_seconds), name="cleanup"
        ),
        asyncio.create_task(
            heartbeat_loop(
                bus,
                ServiceName.STORAGE,
                settings.host_label,
                settings.heartbeat_interval_seconds,
                state=lambda: f"running, {ingestor.pending} pending",
            ),
            name="heartbeat",
        ),
    ]
    await consumer.start()
    log.info("storage ready: %s", settings.database_path)

    await stop.wait()

    tasks[1].cancel()  # no resync during shutdown
    await asyncio.gather(tasks[1], return_exceptions=True)
    await consumer.stop()  # the durable stays; what is not acked is delivered again
    for server in servers:
        with contextlib.suppress(Exception):
            await server.unsubscribe()
    ingestor.stop()
    await asyncio.gather(tasks[0], return_exceptions=True)
    await ingestor.drain()
    for task in tasks[2:]:
        task.cancel()
    await asyncio.gather(*tasks[2:], return_exceptions=True)
    await bus.close()
    await database.close()
    log.info("storage stopped")


if __name__ == "__main__":
    tune_garbage_collector()
    run_service(main)
