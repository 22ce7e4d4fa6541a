"""End-to-end ingest: events published through JetStream until committed in SQLite.

The reference is the raw JetStream publish rate of the same publisher (publish_async with
many in flight, pre-encoded payloads) into the same stream with nobody consuming. Ours is
the same publish followed by the storage service (`python -m ollamon_storage`, its own
process) committing every event: N / (time from the first publish to the last commit).
Target: ours >= 75 % of the reference.

The notes also give the CPU time per event of storage and of nats-server while ingesting:
steadier than the ratio on a shared machine, and where a change to storage shows first.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import sys
import time
from pathlib import Path

import nats
import psutil

from bench.harness import BenchContext, BenchResult
from bench.storage_consuming import wait_storage_consuming
from ollamon_cli.nats_server import NatsServer
from ollamon_core import subjects
from ollamon_core.bus import MSG_ID_HEADER, Bus, encode
from ollamon_core.events import OllamaModelMetrics, ServiceName

NAME = "storage_ingest"
TARGET_RATIO = 0.75
IN_FLIGHT = 4000

Payload = tuple[str, bytes, str]


def _payloads(count: int) -> list[Payload]:
    models = ["llama3.2:1b", "qwen2.5:7b", "mistral:7b", "phi3:mini"]
    payloads = []
    for index in range(count):
        event = OllamaModelMetrics(
            model_name=models[index % len(models)],
            response_time_ms=50.0 + index % 5000,
            time_to_first_token_ms=10.0 + index % 300,
            tokens_generated=100,
            tokens_per_second=40.0 + index % 20,
            host="bench",
        )
        payloads.append((subjects.subject_for(event), encode(event), event.event_id))
    return payloads


async def _publish(nc: nats.NATS, payloads: list[Payload]) -> float:
    """Publish every payload with IN_FLIGHT outstanding; return the seconds it took."""
    js = nc.jetstream(publish_async_max_pending=IN_FLIGHT)
    started = time.perf_counter()
    futures = [
        await js.publish_async(subject, data, headers={MSG_ID_HEADER: event_id})
        for subject, data, event_id in payloads
    ]
    await asyncio.gather(*futures)
    return time.perf_counter() - started


def _count(database_path: Path) -> int:
    try:
        conn = sqlite3.connect(database_path, timeout=10)
        try:
            return int(conn.execute("SELECT COUNT(*) FROM requests").fetchone()[0])
        finally:
            conn.close()
    except sqlite3.OperationalError:
        return 0


async def _wait_consuming(url: str, timeout: float = 30.0) -> None:
    bus = await Bus.connect(url, ServiceName.GATEWAY)
    try:
        await wait_storage_consuming(bus, timeout)
    finally:
        await bus.close()


async def _storage_process(url: str, storage_path: Path) -> asyncio.subprocess.Process:
    env = os.environ | {
        "OLLAMON_NATS_URL": url,
        "OLLAMA_PERFORMANCE_STORAGE_PATH": str(storage_path),
        "OLLAMON_LOG_LEVEL": "WARNING",
    }
    process = await asyncio.create_subprocess_exec(sys.executable, "-m", "ollamon_storage", env=env)
    await _wait_consuming(url)
    return process


class _CpuMeter:
    """CPU time (user + system) that named processes spend from now on."""

    def __init__(self, **pids: int) -> None:
        self.processes = {name: psutil.Process(pid) for name, pid in pids.items()}
        self.started = {name: self._seconds(p) for name, p in self.processes.items()}

    @staticmethod
    def _seconds(process: psutil.Process) -> float:
        times = process.cpu_times()
        return times.user + times.system

    def microseconds_per(self, count: int) -> dict[str, float]:
        """CPU µs per item of each process since the meter was made."""
        return {
            name: round((self._seconds(p) - self.started[name]) * 1e6 / count, 1)
            for name, p in self.processes.items()
        }


def _pid(server: NatsServer) -> int:
    if server.process is None:
        raise RuntimeError("nats-server is not running")
    return server.process.pid


async def run(ctx: BenchContext) -> list[BenchResult]:
    """Measure ingest events/s against the raw publish rate."""
    count = 5_000 if ctx.quick else 50_000
    reference_payloads = _payloads(count)
    payloads = _payloads(count)
    storage_path = ctx.work_dir / "storage"
    with NatsServer(ctx.work_dir / "nats") as server:
        setup = await Bus.connect(server.url, ServiceName.GATEWAY)
        await setup.ensure_streams()
        nc = await nats.connect(server.url)
        reference_seconds = await _publish(nc, reference_payloads)
        await setup.js.purge_stream(subjects.STREAM_EVENTS)
        process = await _storage_process(server.url, storage_path)
        try:
            cpu = _CpuMeter(storage=process.pid, nats_server=_pid(server))
            started = time.perf_counter()
            publish_seconds = await _publish(nc, payloads)
            database_path = storage_path / "ollamon.db"
            while await asyncio.to_thread(_count, database_path) < count:
                await asyncio.sleep(0.01)
            ours_seconds = time.perf_counter() - started
            cpu_us_per_event = cpu.microseconds_per(count)
        finally:
            process.send_signal(signal.SIGTERM)
            await asyncio.wait_for(process.wait(), 30)
            await nc.close()
            await setup.close()
    reference_rate = count / reference_seconds
    ours_rate = count / ours_seconds
    return [
        BenchResult(
            scenario=NAME,
            metric="ingest events/s (publish -> SQLite)",
            ours=ours_rate,
            unit="events/s",
            reference=reference_rate,
            reference_label="raw JetStream publish_async rate",
            target=f">= {TARGET_RATIO:.0%} of reference",
            met=ours_rate >= TARGET_RATIO * reference_rate,
            notes={
                "events": count,
                "publish_seconds_while_ingesting": round(publish_seconds, 3),
                "ingest_seconds": round(ours_seconds, 3),
                "reference_seconds": round(reference_seconds, 3),
                **{f"{name}_cpu_us_per_event": us for name, us in cpu_us_per_event.items()},
            },
        )
    ]
