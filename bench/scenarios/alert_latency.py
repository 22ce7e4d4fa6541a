"""Alert latency: from the triggering event's publish to the alert at a plain subscriber.

The alerting service runs in-process (pending duration 0) against a nats-server of its own;
each iteration publishes one slow request for a fresh model and waits for its firing alert
on `ollamon.alerts.>`. The reference is the raw NATS round trip of a plain publish to a plain
subscriber, measured the same way in the same run. Target: p99 <= 100 ms.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

import nats
from nats.aio.msg import Msg

from bench.harness import BenchContext, BenchResult
from bench.latency import measure_latencies_ms, p50_p99_results
from ollamon_alerting.service import running_alerting
from ollamon_alerting.settings import AlertingSettings
from ollamon_cli.nats_server import NatsServer
from ollamon_core.bus import Bus
from ollamon_core.events import OllamaModelMetrics, OllamaPerformanceAlert, ServiceName

NAME = "alert_latency"
TARGET_P99_MS = 100.0
WAIT_SECONDS = 5.0


async def _until_delivered(
    send: Callable[[int], Awaitable[None]], arrived: dict[int, asyncio.Event]
) -> None:
    """Send index -1 until it arrives: the path is live end to end before anything is timed.

    A message published right after a new subscription (flushed) was once not delivered in
    CI; resending until one arrives makes the start of the measurement independent of that.
    """
    arrived[-1] = asyncio.Event()
    async with asyncio.timeout(WAIT_SECONDS):
        while not arrived[-1].is_set():
            await send(-1)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(arrived[-1].wait(), 0.1)


async def _raw_round_trip(url: str, count: int) -> list[float]:
    publisher = await nats.connect(url)
    subscriber = await nats.connect(url)
    arrived: dict[int, asyncio.Event] = {}

    async def on_message(msg: Msg) -> None:
        arrived[int(msg.data)].set()

    await subscriber.subscribe("bench.raw", cb=on_message)
    await subscriber.flush()

    async def send(index: int) -> None:
        await publisher.publish("bench.raw", str(index).encode())

    try:
        await _until_delivered(send, arrived)
        return await measure_latencies_ms(range(count), send, arrived, WAIT_SECONDS)
    finally:
        await publisher.drain()
        await subscriber.drain()


async def _alert_latency(url: str, count: int) -> list[float]:
    settings = AlertingSettings.model_validate(
        {"nats_url": url, "host_label": "bench", "for_seconds": 0, "resolve_seconds": 0}
    )
    subscriber = await nats.connect(url)
    arrived: dict[int, asyncio.Event] = {}

    async def on_alert(msg: Msg) -> None:
        alert = OllamaPerformanceAlert.model_validate_json(msg.data)
        arrived[int((alert.model_name or "m-0").removeprefix("m-"))].set()

    await subscriber.subscribe("ollamon.alerts.>", cb=on_alert)
    await subscriber.flush()
    async with running_alerting(settings):
        publisher = await Bus.connect(url, ServiceName.PROBE)

        async def send(index: int) -> None:
            await publisher.publish(
                # Over twice the 30 s threshold: one request fires at once (a severe breach).
                OllamaModelMetrics(host="bench", model_name=f"m-{index}", response_time_ms=90000)
            )

        try:
            await _until_delivered(send, arrived)  # model "m--1": one alert, however many sends
            warm_up = min(20, count)  # models are never reused: one alert per fingerprint
            await measure_latencies_ms(range(warm_up), send, arrived, WAIT_SECONDS)
            timed = range(warm_up, warm_up + count)
            return await measure_latencies_ms(timed, send, arrived, WAIT_SECONDS)
        finally:
            await publisher.close()
            await subscriber.drain()


async def run(ctx: BenchContext) -> list[BenchResult]:
    """Measure p50 and p99 alert latency next to the raw NATS round trip."""
    count = 50 if ctx.quick else 500
    with NatsServer(ctx.work_dir / "nats") as server:
        raw_ms = await _raw_round_trip(server.url, count)
        alert_ms = await _alert_latency(server.url, count)
    return p50_p99_results(
        scenario=NAME,
        what="alert latency",
        ours_ms=alert_ms,
        reference_ms=raw_ms,
        reference_label="raw NATS publish->subscribe",
        target_p99_ms=TARGET_P99_MS,
    )
