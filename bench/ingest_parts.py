"""`python -m bench.ingest_parts [--events N]`: storage's ingest CPU per event, part by part.

Each part of the path from JetStream to SQLite runs alone in this process on the same
events (`storage_ingest`'s payloads, already in the stream), with the storage process's
garbage-collector settings; CPU from `getrusage`, so aiosqlite's thread counts. Prints
microseconds of CPU per event: the push consumer's delivery without acks, with one
`Msg.ack()` each and with a write of acks per batch (`ack_each`, as storage acks), a pull
consumer's `fetch` with acks, pydantic validation, storage's msgspec decode (what it uses),
the compact JSON it stores, building rows, and `write_batch` at several batch sizes (and
with the JSON as received). docs/BENCHMARKS.md (storage_ingest, issue 18) explains them.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import nats
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import api

from bench.scenarios.storage_ingest import _payloads, _publish
from ollamon_cli.nats_server import NatsServer
from ollamon_core import subjects
from ollamon_core.bus import Bus
from ollamon_core.bus.consumers import ack_each
from ollamon_core.bus.wire import parse
from ollamon_core.events import Event, ServiceName
from ollamon_storage import rows, writer
from ollamon_storage.__main__ import tune_garbage_collector
from ollamon_storage.database import Database
from ollamon_storage.decoding import Decoder

BATCH_SIZES = (500, 2000)
FETCH_BATCH = 1000
ACK_BATCH = 2000

T = TypeVar("T")


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def _push(nc: Client, count: int, *, acks: str = "") -> list[Msg]:
    """Receive `count` messages through a new push consumer; `acks`: "" none, "each" a
    `Msg.ack()` per message, "batched" one `ack_each` per ACK_BATCH messages (storage's)."""
    received: list[Msg] = []
    done = asyncio.Event()

    async def callback(msg: Msg) -> None:
        received.append(msg)
        if acks == "each":
            await msg.ack()
        elif acks == "batched" and len(received) % ACK_BATCH == 0:
            await ack_each(received[-ACK_BATCH:])
        if len(received) >= count:
            done.set()

    # No acks: a max_ack_pending above the count keeps the server from pausing.
    config = api.ConsumerConfig(ack_policy=api.AckPolicy.EXPLICIT, max_ack_pending=count + 1)
    subscription = await nc.jetstream().subscribe(
        subjects.EVERYTHING,
        durable=f"parts-push-{acks or 'none'}",
        stream=subjects.STREAM_EVENTS,
        cb=callback,
        manual_ack=True,
        config=config,
        pending_msgs_limit=count * 2,
    )
    await done.wait()
    await subscription.unsubscribe()
    return received[:count]


async def _pull(nc: Client, count: int) -> None:
    """Receive and ack `count` messages through a pull consumer, FETCH_BATCH at a time."""
    config = api.ConsumerConfig(ack_policy=api.AckPolicy.EXPLICIT, max_ack_pending=count + 1)
    subscription = await nc.jetstream().pull_subscribe(
        subjects.EVERYTHING, durable="parts-pull", stream=subjects.STREAM_EVENTS, config=config
    )
    received = 0
    while received < count:
        for msg in await subscription.fetch(FETCH_BATCH, timeout=10):
            await msg.ack()
            received += 1
    await subscription.unsubscribe()


async def _timed(report: dict[str, float], name: str, count: int, work: Awaitable[object]) -> None:
    started = _cpu_seconds()
    await work
    report[name] = round((_cpu_seconds() - started) * 1e6 / count, 1)


def _timed_sync(
    report: dict[str, float], name: str, count: int, work: Callable[..., T], *args: object
) -> T:
    started = _cpu_seconds()
    result = work(*args)
    report[name] = round((_cpu_seconds() - started) * 1e6 / count, 1)
    return result


def _validate(messages: list[Msg]) -> list[Event]:
    events: list[Event] = []
    for msg in messages:
        event: Event | None = parse(msg)
        if event is not None:
            events.append(event)
    return events


def _decode(messages: list[Msg]) -> list[Any]:
    decoder = Decoder()
    return [decoder.decode(msg) for msg in messages]


def _stored(events: list[Any], messages: list[Msg]) -> list[str]:
    return [rows.stored_json(event, msg.data) for event, msg in zip(events, messages, strict=True)]


def _rows(events: list[Any], texts: list[str], size: int) -> list[rows.BatchRows]:
    return [
        rows.group_rows(zip(events[i : i + size], texts[i : i + size], strict=True))
        for i in range(0, len(events), size)
    ]


async def measure(count: int, work_dir: Path) -> dict[str, float]:
    """CPU µs per event of each part of ingest, on `count` request events."""
    report: dict[str, float] = {}
    with NatsServer(work_dir / "nats") as server:
        setup = await Bus.connect(server.url, ServiceName.GATEWAY)
        nc = await nats.connect(server.url)
        try:
            await setup.ensure_streams()
            await _publish(nc, _payloads(count))
            await _timed(report, "push delivery, no acks", count, _push(nc, count))
            started = _cpu_seconds()
            messages = await _push(nc, count, acks="each")
            report["push delivery with acks"] = round((_cpu_seconds() - started) * 1e6 / count, 1)
            name = f"push delivery, acks in one write per {ACK_BATCH} (storage)"
            await _timed(report, name, count, _push(nc, count, acks="batched"))
            await _timed(report, f"pull fetch({FETCH_BATCH}) with acks", count, _pull(nc, count))
            _timed_sync(report, "validation, pydantic", count, _validate, messages)
            events = _timed_sync(
                report, "decode, msgspec mirror (storage)", count, _decode, messages
            )
            received = [m.data.decode() for m in messages]
            texts = _timed_sync(report, "stored JSON (compact)", count, _stored, events, messages)
            for size, data, label in [
                *((size, texts, "") for size in BATCH_SIZES),
                (BATCH_SIZES[-1], received, ", JSON as received"),
            ]:
                name = f"batches of {size}{label}"
                batches = _timed_sync(report, f"rows, {name}", count, _rows, events, data, size)
                database = await Database.open(work_dir / f"parts-{size}{bool(label)}.db")
                started = _cpu_seconds()
                for batch in batches:
                    await writer.write_batch(database, batch)
                report[f"write_batch, {name}"] = round((_cpu_seconds() - started) * 1e6 / count, 1)
                await database.close()
        finally:
            await nc.close()
            await setup.close()
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=50_000)
    args = parser.parse_args()
    tune_garbage_collector()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as work_dir:
        report = asyncio.run(measure(args.events, Path(work_dir)))
    width = max(len(name) for name in report)
    for name, microseconds in report.items():
        print(f"{name:<{width}}  {microseconds:8.1f} µs CPU per event")
    print(f"({args.events} events, {time.perf_counter() - started:.1f} s)")


if __name__ == "__main__":
    main()
