"""`python -m bench.ingest_low_rate [--rate R] [--seconds S] [--linger L ...]`: low rates.

At a few events per second every event used to be its own SQLite transaction (a commit
and its fsync each). This publishes `storage_ingest`'s request events at `rate` per second
for `seconds` into a storage process (`python -m ollamon_storage`, its own process) run
once per linger (`OLLAMON_STORAGE_BATCH_INTERVAL`), and prints the storage process's CPU
milliseconds per event, the transactions it committed and how long the last event waited to
be stored. docs/BENCHMARKS.md (storage_ingest, issue 18) records the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sqlite3
import tempfile
import time
from pathlib import Path

import nats

from bench.scenarios.storage_ingest import _CpuMeter, _payloads, _storage_process
from ollamon_cli.nats_server import NatsServer
from ollamon_core import subjects
from ollamon_core.bus import MSG_ID_HEADER, Bus
from ollamon_core.events import Heartbeat, ServiceName


def _count(database_path: Path) -> int:
    conn = sqlite3.connect(database_path, timeout=10)
    try:
        return int(conn.execute("SELECT COUNT(*) FROM requests").fetchone()[0])
    finally:
        conn.close()


async def measure(linger: float, rate: float, seconds: float, work_dir: Path) -> dict[str, float]:
    """Storage's CPU per event at `rate` events/s with the given linger."""
    count = int(rate * seconds)
    payloads = _payloads(count)
    storage_path = work_dir / f"storage-{linger}"
    os.environ["OLLAMON_STORAGE_BATCH_INTERVAL"] = str(linger)
    with NatsServer(work_dir / f"nats-{linger}") as server:
        setup = await Bus.connect(server.url, ServiceName.GATEWAY)
        await setup.ensure_streams()
        nc = await nats.connect(server.url)
        process = await _storage_process(server.url, storage_path)
        try:
            counters_before = await _batches(setup)
            meter = _CpuMeter(storage=process.pid)
            js = nc.jetstream()
            started = time.perf_counter()
            for index, (subject, data, event_id) in enumerate(payloads):
                await asyncio.sleep(max(0.0, started + index / rate - time.perf_counter()))
                await js.publish(subject, data, headers={MSG_ID_HEADER: event_id})
            last_published = time.perf_counter()
            database_path = storage_path / "ollamon.db"
            while await asyncio.to_thread(_count, database_path) < count:
                await asyncio.sleep(0.005)
            last_wait = time.perf_counter() - last_published
            cpu = meter.microseconds_per(count)["storage"]
            counters_after = await _batches(setup)
        finally:
            process.send_signal(signal.SIGTERM)
            await asyncio.wait_for(process.wait(), 30)
            await nc.close()
            await setup.close()
    return {
        "cpu_ms_per_event": round(cpu / 1000, 3),
        "events_per_commit": round(count / max(1, counters_after - counters_before), 1),
        "last_event_stored_after_ms": round(last_wait * 1000, 1),
    }


async def _batches(bus: Bus) -> int:
    """Storage's committed batches so far, from its next heartbeat (0 if none comes)."""
    beat: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    async def keep(event: object, _msg: object) -> None:
        if not isinstance(event, Heartbeat) or event.service != ServiceName.STORAGE:
            return
        if not beat.done():
            beat.set_result(int(event.counters.get("batches", 0)))

    subscription = await bus.subscribe(subjects.HEARTBEAT_ALL, keep)
    try:
        return await asyncio.wait_for(beat, 30)
    except TimeoutError:
        return 0
    finally:
        await subscription.unsubscribe()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rate", type=float, default=10.0)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--linger", type=float, nargs="+", default=[0.05, 0.5])
    parser.add_argument(
        "--heartbeat", type=float, default=5.0, help="storage's heartbeat interval (its default)"
    )
    args = parser.parse_args()
    os.environ["OLLAMON_HEARTBEAT_INTERVAL"] = str(args.heartbeat)  # commits are read from it
    for linger in args.linger:
        with tempfile.TemporaryDirectory() as work_dir:
            report = asyncio.run(measure(linger, args.rate, args.seconds, Path(work_dir)))
        print(f"linger {linger:5.2f} s: " + ", ".join(f"{k} {v}" for k, v in report.items()))


if __name__ == "__main__":
    main()
