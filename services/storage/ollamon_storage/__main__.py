"""`python -m ollamon_storage`: JetStream durable consumer into SQLite, history queries."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import nats.js.errors
from nats.js import JetStreamContext

from ollamon_core import subjects
from ollamon_core.bus import Bus, QueryHandler
from ollamon_core.events import ServiceName
from ollamon_core.runtime import configure_logging, heartbeat_loop, run_service
from ollamon_core.settings import StorageSettings
from ollamon_storage.commands import Commands, cleanup_loop
from ollamon_storage.database import Database
from ollamon_storage.ingest import Ingestor
from ollamon_storage.queries import QueryService

log = logging.getLogger("ollamon_storage")
BIND_ATTEMPTS = 20
BIND_RETRY_SECONDS = 0.5


async def _consume(bus: Bus, ingestor: Ingestor) -> JetStreamContext.PushSubscription:
    # After a crash the server may briefly still see the old process bound to the consumer.
    for _ in range(BIND_ATTEMPTS - 1):
        try:
            return await bus.consume_durable(subjects.STORAGE_DURABLE, ingestor.handle)
        except nats.js.errors.Error as error:
            log.warning("durable consumer not bound yet (%s); retrying", error)
            await asyncio.sleep(BIND_RETRY_SECONDS)
    return await bus.consume_durable(subjects.STORAGE_DURABLE, ingestor.handle)


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
    consumer = await _consume(bus, ingestor)
    log.info("storage ready: %s", settings.database_path)

    await stop.wait()

    await consumer.unsubscribe()  # the durable stays; unacked messages are redelivered
    for server in servers:
        with contextlib.suppress(Exception):
            await server.unsubscribe()
    ingestor.stop()
    await asyncio.gather(tasks[0], return_exceptions=True)
    await ingestor.drain()
    for task in tasks[1:]:
        task.cancel()
    await asyncio.gather(*tasks[1:], return_exceptions=True)
    await bus.close()
    await database.close()
    log.info("storage stopped")


if __name__ == "__main__":
    run_service(main)
