"""The disk spool's cost: idle while NATS answers, and per event while NATS is away.

Three figures, each from one bus publishing request events into a real nats-server:

- idle: N events emitted and acknowledged by JetStream through an outbox with a spool
  configured (empty, NATS up) against the same outbox without one, four rounds each,
  alternating which goes first, the stream purged before each. Target: >= 95 %.
- outage: N events emitted with nats-server stopped, until all are committed to the spool
  (SQLite WAL, one transaction per event); against the in-memory outbox taking the same N
  (which then holds them in memory only). The note gives microseconds per spooled event.
- replay: once nats-server is back, the spooled events published into the stream in order;
  against the idle rate with no spool.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from bench.harness import BenchContext, BenchResult
from ollamon_cli.nats_server import NatsServer
from ollamon_core import subjects
from ollamon_core.bus import Bus, SpoolConfig
from ollamon_core.events import OllamaModelMetrics, ServiceName

NAME = "spool_cost"
TARGET_IDLE_RATIO = 0.95


def _events(count: int) -> list[OllamaModelMetrics]:
    return [
        OllamaModelMetrics(
            model_name="llama3.2:1b",
            response_time_ms=50.0 + index % 5000,
            tokens_generated=100,
            tokens_per_second=40.0 + index % 20,
            host="bench",
        )
        for index in range(count)
    ]


async def _until(condition: object, timeout: float = 120.0) -> None:
    assert callable(condition)
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met")
        await asyncio.sleep(0.001)


async def _emit_acknowledged(bus: Bus, count: int) -> float:
    """Seconds to emit `count` events and have JetStream acknowledge every one."""
    events = _events(count)
    started = time.perf_counter()
    for event in events:
        bus.emit(event)
    if not await bus.flush_outbox(120):
        raise TimeoutError("outbox not flushed")
    return time.perf_counter() - started


async def run(ctx: BenchContext) -> list[BenchResult]:
    """Measure the outbox with and without the spool, NATS up and NATS away."""
    count = 2_000 if ctx.quick else 8_000  # within the in-memory outbox (10,000)
    spool = SpoolConfig(Path(ctx.work_dir) / "spool")
    with NatsServer(ctx.work_dir / "nats") as server:
        plain = await Bus.connect(server.url, ServiceName.PROBE)
        await plain.ensure_streams()
        spooled = await Bus.connect(server.url, ServiceName.COLLECTOR, spool=spool)
        try:
            await _emit_acknowledged(plain, 200)  # warm-up of both paths
            await _emit_acknowledged(spooled, 200)
            seconds = {"plain": 0.0, "spooled": 0.0}
            buses = {"plain": plain, "spooled": spooled}
            for round_ in range(4):  # alternate who goes first; each on an emptied stream
                order = ["plain", "spooled"] if round_ % 2 == 0 else ["spooled", "plain"]
                for name in order:
                    await plain.js.purge_stream(subjects.STREAM_EVENTS)
                    seconds[name] += await _emit_acknowledged(buses[name], count)
            plain_seconds, spooled_seconds = seconds["plain"], seconds["spooled"]

            await asyncio.to_thread(server.stop)
            await _until(lambda: not spooled.nc.is_connected and not plain.nc.is_connected)
            events = _events(count)
            started = time.perf_counter()
            for event in events:
                plain.emit(event)
            memory_seconds = time.perf_counter() - started
            assert spooled.spool is not None
            on_disk = spooled.spool
            started = time.perf_counter()
            for event in events:
                spooled.emit(event)
            await _until(lambda: on_disk.events >= count)
            spool_seconds = time.perf_counter() - started
            spool_bytes = on_disk.size_bytes

            await asyncio.to_thread(server.start)
            started = time.perf_counter()
            await _until(lambda: on_disk.events == 0)
            replay_seconds = time.perf_counter() - started
            await plain.flush_outbox(60)
        finally:
            await spooled.close(flush_timeout=10)
            await plain.close(flush_timeout=10)
    runs = 4 * count
    idle_rate, plain_rate = runs / spooled_seconds, runs / plain_seconds
    return [
        BenchResult(
            scenario=NAME,
            metric="emit -> JetStream ack, spool idle (events/s)",
            ours=idle_rate,
            unit="events/s",
            reference=plain_rate,
            reference_label="the same outbox without a spool",
            target=f">= {TARGET_IDLE_RATIO:.0%} of reference",
            met=idle_rate >= TARGET_IDLE_RATIO * plain_rate,
            notes={"events": runs},
        ),
        BenchResult(
            scenario=NAME,
            metric="emit -> on disk, NATS away (events/s)",
            ours=count / spool_seconds,
            unit="events/s",
            reference=count / memory_seconds,
            reference_label="emit into the in-memory outbox (not durable)",
            notes={
                "events": count,
                "us_per_spooled_event": round(spool_seconds / count * 1e6, 1),
                "us_per_memory_event": round(memory_seconds / count * 1e6, 2),
                "spool_bytes": spool_bytes,
            },
        ),
        BenchResult(
            scenario=NAME,
            metric="replay of the spool once NATS is back (events/s)",
            ours=count / replay_seconds,
            unit="events/s",
            reference=plain_rate,
            reference_label="emit -> ack without a spool",
            notes={"events": count},
        ),
    ]
