"""Summary and per-model query latency over NATS with 1,000,000 request rows stored.

The rows (and their rollups, through the same code the service uses) are written with
direct SQL into a fresh database spread over the last 24 hours; then the storage service
(`python -m ollamon_storage`) answers `SummaryQuery` and `ModelMetricsQuery` over NATS.
The reference is the same per-model p95 computed by scanning the raw rows in SQLite, which
the rollups exist to avoid. Target: p95 <= 50 ms for both queries.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import sys
import time
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from bench.harness import BenchContext, BenchResult
from ollamon_cli.nats_server import NatsServer
from ollamon_core import stats, subjects
from ollamon_core.bus import Bus
from ollamon_core.events import OllamaModelMetrics, ServiceName
from ollamon_core.events import queries as q
from ollamon_core.subjects import QueryRoute
from ollamon_storage import rollup_store, rows, schema
from ollamon_storage.rollups import RequestSample, rollup_deltas

NAME = "storage_queries"
TARGET_P95_MS = 50.0
MODELS = ["llama3.2:1b", "qwen2.5:7b", "mistral:7b", "phi3:mini", "gemma2:2b", "llava:7b"]
HOSTS = ["gpu-1", "gpu-2"]
CHUNK_ROWS = 100_000
PERIOD_SECONDS = 24 * 3600


def _generate(database_path: Path, count: int) -> None:
    """Write `count` request rows and their rollups straight into a fresh database."""
    conn = schema.open_database(database_path)
    schema.migrate(conn)
    conn.execute("PRAGMA synchronous=OFF")
    template = OllamaModelMetrics(model_name="m", response_time_ms=1.0).model_dump(mode="json")
    now_ms = int(time.time() * 1000)
    step_ms = PERIOD_SECONDS * 1000 // count
    for start in range(0, count, CHUNK_ROWS):
        batch, samples = [], []
        for index in range(start, min(start + CHUNK_ROWS, count)):
            ts_ms = now_ms - (count - index) * step_ms
            model = MODELS[index % len(MODELS)]
            host = HOSTS[index % len(HOSTS)]
            latency = 200.0 + (index * 7919) % 20_000
            ttft = 20.0 + (index * 104_729) % 2_000
            event_id = f"{index:032x}"
            data = json.dumps(
                template
                | {
                    "event_id": event_id,
                    "model_name": model,
                    "host": host,
                    "response_time_ms": latency,
                    "time_to_first_token_ms": ttft,
                    "tokens_per_second": 40.0,
                    "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts_ms / 1000))
                    + "Z",
                }
            )
            batch.append((event_id, ts_ms, host, model, latency, ttft, 40.0, 0.0, 0, 0, data))
            samples.append(RequestSample(ts_ms, host, model, latency, False, ttft, 40.0))
        conn.execute("BEGIN")
        conn.executemany(rows.INSERT_SQL["requests"], batch)
        rollup_store.apply_deltas_sync(conn, rollup_deltas(samples))
        conn.execute("COMMIT")
    conn.close()


def _raw_scan_ms(database_path: Path, model: str) -> float:
    """The reference: p95 of one model over 24 h by reading every raw row."""
    conn = sqlite3.connect(database_path)
    try:
        started = time.perf_counter()
        since_ms = int((time.time() - PERIOD_SECONDS) * 1000)
        values = [
            row[0]
            for row in conn.execute(
                "SELECT response_time_ms FROM requests WHERE model_name = ? AND ts_ms >= ?",
                (model, since_ms),
            )
        ]
        stats.percentile(values, 0.95)
        return (time.perf_counter() - started) * 1000
    finally:
        conn.close()


async def _p95_ms(bus: Bus, route: QueryRoute[Any, Any], request: BaseModel, repeats: int) -> float:
    timings = []
    for _ in range(repeats):
        started = time.perf_counter()
        await bus.request(route, request, timeout=30)
        timings.append((time.perf_counter() - started) * 1000)
    return stats.percentile(timings, 0.95) or 0.0


async def run(ctx: BenchContext) -> list[BenchResult]:
    """Measure summary and per-model p95 over NATS against a raw-row scan."""
    count = 100_000 if ctx.quick else 1_000_000
    repeats = 50 if ctx.quick else 200
    storage_path = ctx.work_dir / "storage"
    database_path = storage_path / "ollamon.db"
    storage_path.mkdir(parents=True)
    generate_started = time.perf_counter()
    await asyncio.to_thread(_generate, database_path, count)
    generate_seconds = time.perf_counter() - generate_started
    reference_ms = stats.percentile(
        [await asyncio.to_thread(_raw_scan_ms, database_path, MODELS[0]) for _ in range(3)], 0.5
    )
    assert reference_ms is not None
    with NatsServer(ctx.work_dir / "nats") as server:
        env = os.environ | {
            "OLLAMON_NATS_URL": server.url,
            "OLLAMA_PERFORMANCE_STORAGE_PATH": str(storage_path),
            "OLLAMON_LOG_LEVEL": "WARNING",
        }
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "ollamon_storage", env=env
        )
        bus = await Bus.connect(server.url, ServiceName.GATEWAY)
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    await bus.request(subjects.QUERY_SUMMARY, q.SummaryQuery(), timeout=5)
                    break
                except Exception:
                    if time.monotonic() > deadline:
                        raise
                    await asyncio.sleep(0.2)
            summary = await bus.request(subjects.QUERY_SUMMARY, q.SummaryQuery())
            summary_p95 = await _p95_ms(bus, subjects.QUERY_SUMMARY, q.SummaryQuery(), repeats)
            model_query = q.ModelMetricsQuery(model_name=MODELS[0])
            model_p95 = await _p95_ms(bus, subjects.QUERY_MODEL_METRICS, model_query, repeats)
        finally:
            await bus.close()
            process.send_signal(signal.SIGTERM)
            await asyncio.wait_for(process.wait(), 30)
    notes: dict[str, object] = {
        "rows": count,
        "rows_in_summary": summary.total_requests,
        "repeats": repeats,
        "generate_seconds": round(generate_seconds, 1),
    }
    return [
        BenchResult(
            scenario=NAME,
            metric="summary query p95 (NATS)",
            ours=summary_p95,
            unit="ms",
            reference=reference_ms,
            reference_label="raw-row p95 scan of one model",
            target=f"<= {TARGET_P95_MS:g} ms",
            met=summary_p95 <= TARGET_P95_MS,
            notes=notes,
        ),
        BenchResult(
            scenario=NAME,
            metric="model_metrics query p95 (NATS)",
            ours=model_p95,
            unit="ms",
            reference=reference_ms,
            reference_label="raw-row p95 scan of one model",
            target=f"<= {TARGET_P95_MS:g} ms",
            met=model_p95 <= TARGET_P95_MS,
            notes=notes,
        ),
    ]
