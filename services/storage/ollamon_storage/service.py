"""The storage service: the durable consumer into SQLite, and the history queries over NATS.

`running_storage` reads top to bottom: connect (storage owns the streams' retention), open
the database, answer queries, ingest in batches, clean up on schedule, consume, beat. At
the end deliveries stop first, the ingest task commits what it holds, and the database
closes before the bus drains; what was not acked is delivered again at the next start.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

from ollamon_core import subjects
from ollamon_core.events import ServiceName
from ollamon_core.runtime import ServiceRuntime, service_runtime
from ollamon_storage.benchmark_reads import BenchmarkReads
from ollamon_storage.commands import Commands, cleanup_loop
from ollamon_storage.consumer import StorageConsumer
from ollamon_storage.database import Database
from ollamon_storage.forecast_reads import ForecastReads
from ollamon_storage.ingest import Ingestor
from ollamon_storage.queries import QueryService
from ollamon_storage.settings import StorageSettings

log = logging.getLogger(__name__)

SECONDS_PER_DAY = 86400


@contextlib.asynccontextmanager
async def running_storage(settings: StorageSettings) -> AsyncIterator[ServiceRuntime]:
    """Run storage until the block ends."""
    retention_seconds = settings.retention_days * SECONDS_PER_DAY
    async with service_runtime(
        ServiceName.STORAGE, settings, retention_seconds=retention_seconds
    ) as runtime:
        bus = runtime.bus
        database = await Database.open(settings.database_path)
        runtime.on_close(database.close)
        ingestor = Ingestor(
            database,
            bus.counters,
            batch_size=settings.batch_size,
            batch_interval_seconds=settings.batch_interval_seconds,
        )
        consumer = StorageConsumer(bus, ingestor)
        queries = QueryService(database.reader)
        commands = Commands(database, settings)
        benchmarks = BenchmarkReads(database.reader)
        forecasts = ForecastReads(database.reader)
        for server in [
            await bus.serve(subjects.QUERY_SUMMARY, queries.summary),
            await bus.serve(subjects.QUERY_MODEL_METRICS, queries.model_metrics),
            await bus.serve(subjects.QUERY_SYSTEM_HISTORY, queries.system_history),
            await bus.serve(subjects.QUERY_ALERTS, queries.alerts),
            await bus.serve(subjects.QUERY_TRENDS, queries.trends),
            await bus.serve(subjects.QUERY_LIFECYCLE, queries.lifecycle),
            await bus.serve(subjects.QUERY_EXPORT, commands.export),
            await bus.serve(subjects.QUERY_EXPORT_CHUNK, commands.export_chunk),
            await bus.serve(subjects.QUERY_CLEANUP, commands.cleanup),
            await bus.serve(subjects.QUERY_BACKUP, commands.backup),
            await bus.serve(subjects.QUERY_BENCHMARKS, benchmarks.benchmarks),
            await bus.serve(subjects.QUERY_FORECASTS, forecasts.forecasts),
        ]:
            runtime.unsubscribe_at_close(server)
        runtime.start_task(ingest(ingestor), name="ingest", stop=ingestor.stop)
        runtime.start_task(
            cleanup_loop(commands, settings.cleanup_interval_seconds), name="cleanup"
        )
        runtime.on_close(consumer.stop)  # the durable stays; what is not acked comes again
        await consumer.start()
        runtime.start_heartbeat(lambda: f"running, {ingestor.pending} pending")
        log.info("storage ready: %s", settings.database_path)
        yield runtime


async def ingest(ingestor: Ingestor) -> None:
    """Commit batches until the ingestor is stopped, then what is still queued."""
    await ingestor.run()
    await ingestor.drain()  # deliveries have stopped by now (the consumer stops first)
