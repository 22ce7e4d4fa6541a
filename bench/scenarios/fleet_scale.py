"""A fleet into one hub: 200 simulated Ollama hosts, each 1 system sample/s and 5 requests/s.

Synthetic publishers (this process, JetStream `publish_async`, one `host` label per
simulated host, two models each) feed one hub on this machine: a real nats-server, the
storage service and the gateway, each its own process (`python -m ollamon_storage`,
`python -m ollamon_gateway`). While the load runs, the bench samples the lag of storage's
durable consumer (stream last sequence minus its ack floor) every second and, as one
dashboard would, asks the gateway's REST API every 2 s for the summary and for one host's
summary and system samples (`?host=`). Then it waits for storage to drain and asks the same queries
on the idle hub, the reference for the loaded p95. Before the load, a day of history
(every host's two models, a request every 10 minutes for 24 h) is written as the rollups
storage keeps, so the summaries read what a day-old hub reads.

Figures: events/s stored against events/s offered (target: keeps up, >= 98 %, and the lag
drains), summary and per-host p95 under load against idle (target <= 250 ms through the
gateway), the gateway's RSS loaded against its RSS before the load (target <= 300 MB).
`--quick`: 20 hosts for 4 s (the shape, not the figures).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import nats
import psutil
from nats.js.api import PubAck

from bench.harness import BenchContext, BenchResult
from bench.storage_consuming import wait_storage_consuming
from ollamon_cli.nats_server import NatsServer, free_port
from ollamon_core import subjects
from ollamon_core.bus import MSG_ID_HEADER, Bus, encode
from ollamon_core.events import OllamaModelMetrics, OllamaSystemMetrics, ServiceName
from ollamon_core.events.queries import SummaryQuery
from ollamon_core.stats import percentile
from ollamon_storage import rollup_store, schema
from ollamon_storage.rollups import RequestSample, rollup_deltas

NAME = "fleet_scale"
HOSTS = 200
QUICK_HOSTS = 20
SECONDS = 45
QUICK_SECONDS = 4
REQUESTS_PER_HOST_PER_SECOND = 5
SAMPLES_PER_HOST_PER_SECOND = 1
TICKS_PER_SECOND = 10
IN_FLIGHT = 4000
MODELS = ["llama3.2:1b", "qwen2.5:7b", "mistral:7b", "phi3:mini", "gemma2:2b", "llava:7b"]
API = "/api/ai/ollama/performance"
KEEPS_UP_RATIO = 0.98
TARGET_QUERY_P95_MS = 250.0
TARGET_GATEWAY_RSS_MB = 300.0
DRAIN_TIMEOUT_SECONDS = 120.0
STARTUP_TIMEOUT_SECONDS = 60.0
IDLE_QUERY_REPEATS = 30
QUERY_ROUND_SECONDS = 2.0
HISTORY_HOURS = 24
HISTORY_STEP_MINUTES = 10


def host_label(index: int) -> str:
    """The label of simulated host `index`."""
    return f"fleet-{index:03d}"


def _request_event(host: str, index: int, rng: random.Random) -> OllamaModelMetrics:
    model = MODELS[(index + rng.randrange(2)) % len(MODELS)]
    response_ms = rng.lognormvariate(7.0, 0.5)
    tokens = rng.randrange(20, 400)
    return OllamaModelMetrics(
        host=host,
        model_name=model,
        response_time_ms=response_ms,
        time_to_first_token_ms=response_ms * 0.1,
        tokens_generated=tokens,
        tokens_per_second=tokens / (response_ms / 1000),
        endpoint="/api/chat",
        method="POST",
        status_code=200,
    )


def _system_event(host: str, rng: random.Random) -> OllamaSystemMetrics:
    return OllamaSystemMetrics(
        host=host,
        cpu_usage_percent=rng.uniform(5, 90),
        memory_usage_percent=rng.uniform(20, 80),
        memory_available_gb=rng.uniform(4, 60),
        disk_usage_percent=40.0,
        gpu_usage_percent=rng.uniform(0, 100),
    )


def _seed_history(database_path: Path, hosts: int) -> int:
    """A day of history before the load: each host's two models, one request every
    `HISTORY_STEP_MINUTES` for `HISTORY_HOURS`, as the rollups storage keeps (what the
    summary reads: minute rollups at the window's start, hours after). Returns the samples."""
    conn = schema.open_database(database_path)
    try:
        schema.migrate(conn)
        rng = random.Random(15)
        now_ms = int(time.time() * 1000)
        step_ms = HISTORY_STEP_MINUTES * 60_000
        samples = [
            RequestSample(
                now_ms - offset_ms,
                host_label(index),
                MODELS[(index + which) % len(MODELS)],
                rng.lognormvariate(7.0, 0.5),
                rng.random() < 0.01,
                rng.uniform(50, 500),
                rng.uniform(20, 80),
            )
            for index in range(hosts)
            for which in range(2)
            for offset_ms in range(step_ms, HISTORY_HOURS * 3_600_000, step_ms)
        ]
        conn.execute("BEGIN")
        rollup_store.apply_deltas_sync(conn, rollup_deltas(samples))
        conn.execute("COMMIT")
        return len(samples)
    finally:
        conn.close()


@dataclass
class Offered:
    """What the publishers sent, and how far behind their schedule they fell."""

    events: int = 0
    late_ticks: int = 0
    publish_errors: int = 0
    seconds: float = 0.0


async def _publish_load(nc: nats.NATS, hosts: int, seconds: float, offered: Offered) -> None:
    """Every host's share of events, a tenth of a second at a time, acknowledged by JetStream."""
    js = nc.jetstream(publish_async_max_pending=IN_FLIGHT)
    rng = random.Random(14)
    labels = [host_label(index) for index in range(hosts)]
    requests_per_tick = hosts * REQUESTS_PER_HOST_PER_SECOND / TICKS_PER_SECOND
    samples_per_tick = hosts * SAMPLES_PER_HOST_PER_SECOND / TICKS_PER_SECOND
    started = time.perf_counter()
    ticks = int(seconds * TICKS_PER_SECOND)
    pending: list[asyncio.Future[PubAck]] = []
    owed_requests = owed_samples = 0.0
    sample_cursor = 0  # system samples go round the hosts: each one a second
    for tick in range(ticks):
        owed_requests += requests_per_tick
        owed_samples += samples_per_tick
        events: list[OllamaModelMetrics | OllamaSystemMetrics] = []
        while owed_requests >= 1:
            index = rng.randrange(hosts)
            events.append(_request_event(labels[index], index, rng))
            owed_requests -= 1
        while owed_samples >= 1:
            events.append(_system_event(labels[sample_cursor % hosts], rng))
            sample_cursor += 1
            owed_samples -= 1
        for event in events:
            pending.append(
                await js.publish_async(
                    subjects.subject_for(event),
                    encode(event),
                    headers={MSG_ID_HEADER: event.event_id},
                )
            )
        offered.events += len(events)
        next_tick = started + (tick + 1) / TICKS_PER_SECOND
        delay = next_tick - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        else:
            offered.late_ticks += 1
    results = await asyncio.gather(*pending, return_exceptions=True)
    offered.publish_errors = sum(1 for result in results if isinstance(result, BaseException))
    offered.seconds = time.perf_counter() - started


@dataclass
class LagSampler:
    """Storage's consumer lag (stream last sequence - ack floor), sampled once a second."""

    bus: Bus
    samples: list[tuple[float, int, int]] = field(default_factory=list)  # (t, last, acked)

    async def sample(self) -> tuple[int, int]:
        info = await self.bus.js.consumer_info(subjects.STREAM_EVENTS, subjects.STORAGE_DURABLE)
        stream = await self.bus.js.stream_info(subjects.STREAM_EVENTS)
        last = int(stream.state.last_seq)
        acked = int(info.ack_floor.stream_seq if info.ack_floor else 0)
        self.samples.append((time.perf_counter(), last, acked))
        return last, acked

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await self.sample()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 1.0)

    def max_lag(self) -> int:
        return max((last - acked for _, last, acked in self.samples), default=0)


async def _start(module: str, env: dict[str, str]) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", module, env=os.environ | env | {"OLLAMON_LOG_LEVEL": "WARNING"}
    )


async def _wait_storage_consuming(bus: Bus) -> None:
    await wait_storage_consuming(bus, STARTUP_TIMEOUT_SECONDS)


async def _wait_gateway(client: httpx.AsyncClient, process: asyncio.subprocess.Process) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while True:
        try:
            if (await client.get(f"{API}/status")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline or process.returncode is not None:
            raise RuntimeError("the gateway did not start")
        await asyncio.sleep(0.1)


@dataclass
class QueryTimings:
    """Milliseconds per query kind, and answers that were not 200."""

    ms: dict[str, list[float]] = field(default_factory=dict)
    failures: dict[str, int] = field(default_factory=dict)
    host_scoped: bool | None = None

    def p95(self, kind: str) -> float:
        return percentile(self.ms.get(kind, []), 0.95) or 0.0


def _queries(host: str) -> dict[str, str]:
    return {
        "summary": f"{API}/summary",
        "host_summary": f"{API}/summary?host={host}",
        "host_system": f"{API}/system?host={host}&hours=1",
    }


async def _query_once(
    client: httpx.AsyncClient, timings: QueryTimings, kind: str, path: str
) -> httpx.Response:
    started = time.perf_counter()
    response = await client.get(path)
    elapsed = (time.perf_counter() - started) * 1000
    if response.status_code == 200:
        timings.ms.setdefault(kind, []).append(elapsed)
    else:
        timings.failures[kind] = timings.failures.get(kind, 0) + 1
    return response


async def _query_loop(
    client: httpx.AsyncClient, hosts: int, stop: asyncio.Event, timings: QueryTimings
) -> None:
    """One dashboard: a round of queries every `QUERY_ROUND_SECONDS` (the dashboard refetches
    its summary 1.5 s after requests settle), a different host each round."""
    round_index = 0
    while not stop.is_set():
        round_started = time.perf_counter()
        host = host_label((round_index * 37) % hosts)
        for kind, path in _queries(host).items():
            response = await _query_once(client, timings, kind, path)
            if kind == "host_system" and response.status_code == 200:
                samples = response.json().get("samples", [])
                timings.host_scoped = all(s.get("host") == host for s in samples)
        round_index += 1
        pause = QUERY_ROUND_SECONDS - (time.perf_counter() - round_started)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), max(pause, 0.0))


async def _nats_query_p95(bus: Bus, host: str) -> dict[str, float]:
    """The storage side alone: the same summaries asked over NATS, without the gateway."""
    timings: dict[str, list[float]] = {"summary": [], "host_summary": []}
    for _ in range(IDLE_QUERY_REPEATS):
        for kind, query in (
            ("summary", SummaryQuery()),
            ("host_summary", SummaryQuery(host=host)),
        ):
            started = time.perf_counter()
            await bus.request(subjects.QUERY_SUMMARY, query, timeout=30)
            timings[kind].append((time.perf_counter() - started) * 1000)
    return {kind: round(percentile(values, 0.95) or 0.0, 1) for kind, values in timings.items()}


class _Meter:
    """RSS and CPU seconds of one process."""

    def __init__(self, pid: int) -> None:
        self.process = psutil.Process(pid)
        self.peak_rss = 0
        self.cpu_started = self.cpu_seconds()

    def cpu_seconds(self) -> float:
        times = self.process.cpu_times()
        return float(times.user + times.system)

    def rss_mb(self) -> float:
        rss = int(self.process.memory_info().rss)
        self.peak_rss = max(self.peak_rss, rss)
        return rss / 2**20


async def _watch_rss(meters: list[_Meter], stop: asyncio.Event) -> None:
    while not stop.is_set():
        for meter in meters:
            meter.rss_mb()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 0.5)


async def run(ctx: BenchContext) -> list[BenchResult]:
    """Offer a fleet's load to one hub; measure what it stores, its queries and memory."""
    hosts = QUICK_HOSTS if ctx.quick else HOSTS
    seconds = QUICK_SECONDS if ctx.quick else SECONDS
    port = free_port()
    storage_path = ctx.work_dir / "storage"
    storage_path.mkdir(parents=True)
    seeded = await asyncio.to_thread(_seed_history, storage_path / "ollamon.db", hosts)
    with NatsServer(ctx.work_dir / "nats") as server:
        bus = await Bus.connect(server.url, ServiceName.GATEWAY)
        await bus.ensure_streams()
        storage = await _start(
            "ollamon_storage",
            {
                "OLLAMON_NATS_URL": server.url,
                "OLLAMA_PERFORMANCE_STORAGE_PATH": str(storage_path),
            },
        )
        gateway = await _start(
            "ollamon_gateway",
            {
                "OLLAMON_NATS_URL": server.url,
                "OLLAMON_GATEWAY_PORT": str(port),
                "OLLAMON_HEARTBEAT_INTERVAL": "5",
            },
        )
        nc = await nats.connect(server.url)
        client = httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30)
        try:
            await _wait_storage_consuming(bus)
            await _wait_gateway(client, gateway)
            gateway_meter, storage_meter = _Meter(gateway.pid), _Meter(storage.pid)
            await asyncio.sleep(1.0)
            gateway_idle_mb = gateway_meter.rss_mb()
            gateway_meter.peak_rss = 0

            lag = LagSampler(bus)
            last_before, _ = await lag.sample()
            offered = Offered()
            loaded = QueryTimings()
            stop = asyncio.Event()
            watchers = [
                asyncio.create_task(lag.run(stop)),
                asyncio.create_task(_watch_rss([gateway_meter, storage_meter], stop)),
            ]
            load = asyncio.create_task(_publish_load(nc, hosts, seconds, offered))
            # Queries start once storage has the load's first second, which holds a system
            # sample of every host (the per-host ones 404 for a host storage has not seen).
            first_second = hosts * (REQUESTS_PER_HOST_PER_SECOND + SAMPLES_PER_HOST_PER_SECOND)
            await asyncio.sleep(1.0)
            deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
            while (await lag.sample())[1] - last_before < first_second:
                if time.monotonic() > deadline:
                    raise RuntimeError("storage did not store the load's first second")
                await asyncio.sleep(0.1)
            queries = asyncio.create_task(_query_loop(client, hosts, stop, loaded))
            await load
            last_at_end, acked_at_end = await lag.sample()
            stop.set()
            await asyncio.gather(*watchers, queries)
            gateway_cpu = gateway_meter.cpu_seconds() - gateway_meter.cpu_started
            storage_cpu = storage_meter.cpu_seconds() - storage_meter.cpu_started

            drain_started = time.perf_counter()
            while True:
                last, acked = await lag.sample()
                if acked >= last:
                    break
                if time.perf_counter() - drain_started > DRAIN_TIMEOUT_SECONDS:
                    break
                await asyncio.sleep(0.1)
            drain_seconds = time.perf_counter() - drain_started
            stored = acked - last_before
            stored_during_load = acked_at_end - last_before

            idle = QueryTimings()
            for repeat in range(IDLE_QUERY_REPEATS):
                for kind, path in _queries(host_label((repeat * 37) % hosts)).items():
                    await _query_once(client, idle, kind, path)
            nats_idle = await _nats_query_p95(bus, host_label(0))
            gateway_end_mb = gateway_meter.rss_mb()
        finally:
            await client.aclose()
            await nc.close()
            for process in (gateway, storage):
                if process.returncode is None:
                    process.terminate()
            for process in (gateway, storage):
                await asyncio.wait_for(process.wait(), 30)
            await bus.close()

    offered_rate = offered.events / offered.seconds
    stored_rate = stored_during_load / offered.seconds
    keeps_up = stored_rate >= KEEPS_UP_RATIO * offered_rate and acked >= last
    peak_mb = gateway_meter.peak_rss / 2**20
    common: dict[str, object] = {
        "hosts": hosts,
        "history_requests_seeded": seeded,
        "load_seconds": round(offered.seconds, 1),
        "events_offered": offered.events,
        "events_stored": stored,
        "publish_errors": offered.publish_errors,
        "late_publisher_ticks": offered.late_ticks,
    }
    storage_notes = common | {
        "lag_at_end_of_load_events": last_at_end - acked_at_end,
        "lag_max_events": lag.max_lag(),
        "drain_seconds": round(drain_seconds, 2),
        "storage_cpu_percent_of_one_core": round(100 * storage_cpu / offered.seconds, 1),
        "storage_peak_rss_mb": round(storage_meter.peak_rss / 2**20, 1),
    }
    query_notes = common | {
        "queries_under_load": {kind: len(values) for kind, values in loaded.ms.items()},
        "query_failures_under_load": loaded.failures,
        "query_failures_idle": idle.failures,
        "host_system_answer_was_one_host": loaded.host_scoped,
        "idle_p95_ms_over_nats_storage_alone": nats_idle,
    }
    results = [
        BenchResult(
            scenario=NAME,
            metric=f"stored events/s, {hosts} hosts",
            ours=stored_rate,
            unit="events/s",
            reference=offered_rate,
            reference_label="events/s offered",
            target=f">= {KEEPS_UP_RATIO:.0%} of offered, lag drained",
            met=keeps_up,
            notes=storage_notes,
        )
    ]
    for kind, label in (
        ("summary", "summary"),
        ("host_summary", "summary ?host="),
        ("host_system", "system ?host="),
    ):
        results.append(
            BenchResult(
                scenario=NAME,
                metric=f"{label} p95 under load (REST)",
                ours=loaded.p95(kind),
                unit="ms",
                reference=idle.p95(kind),
                reference_label="same query p95, idle hub",
                target=f"<= {TARGET_QUERY_P95_MS:g} ms",
                met=bool(loaded.ms.get(kind)) and loaded.p95(kind) <= TARGET_QUERY_P95_MS,
                notes=query_notes,
            )
        )
    results.append(
        BenchResult(
            scenario=NAME,
            metric=f"gateway RSS peak, {hosts} hosts (MB)",
            ours=peak_mb,
            unit="MB",
            reference=gateway_idle_mb,
            reference_label="gateway RSS before the load",
            target=f"<= {TARGET_GATEWAY_RSS_MB:g} MB",
            met=peak_mb <= TARGET_GATEWAY_RSS_MB,
            notes={
                "gateway_rss_after_mb": round(gateway_end_mb, 1),
                "gateway_cpu_percent_of_one_core": round(100 * gateway_cpu / offered.seconds, 1),
                "events_per_second_seen_live": round(offered_rate, 1),
            },
        )
    )
    return results
