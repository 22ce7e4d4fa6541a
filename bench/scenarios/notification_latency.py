"""Notification latency: from an alert's publication to a webhook receiver getting it.

The notifier runs in-process against a nats-server of its own, with one webhook receiver
(`OLLAMON_ALERT_WEBHOOK_URLS`) served on loopback by a minimal HTTP server here. Each
iteration publishes one firing alert with a fresh fingerprint into the stream, as alerting
does, and waits until the receiver has it (Alertmanager's webhook payload, parsed). The
reference is the stream's own latency: the same publication to a plain JetStream push
subscriber, measured the same way in the same run. Target: p99 <= 250 ms.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket

import nats
from nats.aio.msg import Msg

from bench.harness import BenchContext, BenchResult
from bench.latency import measure_latencies_ms, p50_p99_results
from ollamon_cli.nats_server import NatsServer
from ollamon_core import subjects
from ollamon_core.bus import Bus
from ollamon_core.events import OllamaPerformanceAlert, ServiceName, Severity
from ollamon_notifier.service import running_notifier
from ollamon_notifier.settings import NotifierSettings

NAME = "notification_latency"
TARGET_P99_MS = 250.0
WAIT_SECONDS = 10.0


def _alert(index: int) -> OllamaPerformanceAlert:
    return OllamaPerformanceAlert(
        host="bench",
        alert_type="slow_response",
        severity=Severity.HIGH,
        message="bench",
        model_name=f"m-{index}",
        fingerprint=f"fp-{index}",
    )


def _index(fingerprint: str) -> int:
    return int(fingerprint.removeprefix("fp-"))


class _Receiver:
    """Just enough HTTP/1.1 (keep-alive, Content-Length) to take webhook posts."""

    def __init__(self, arrived: dict[int, asyncio.Event]) -> None:
        self.arrived = arrived
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = int(sock.getsockname()[1])

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.decode("latin-1").split("\r\n"):
                    name, _, value = line.partition(":")
                    if name.strip().lower() == "content-length":
                        length = int(value)
                body = json.loads(await reader.readexactly(length))
                for alert in body["alerts"]:
                    event = self.arrived.get(_index(alert["fingerprint"]))
                    if event is not None:
                        event.set()
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


async def _stream_latency(url: str, count: int) -> list[float]:
    """The reference: publication into the stream to a plain JetStream push subscriber."""
    publisher = await Bus.connect(url, ServiceName.ALERTING)
    await publisher.ensure_streams()
    subscriber = await nats.connect(url)
    arrived: dict[int, asyncio.Event] = {}

    async def on_message(msg: Msg) -> None:
        alert = OllamaPerformanceAlert.model_validate_json(msg.data)
        event = arrived.get(_index(alert.fingerprint))
        if event is not None:
            event.set()
        await msg.ack()

    js = subscriber.jetstream()
    subscription = await js.subscribe(
        subjects.ALERTS_ALL, cb=on_message, manual_ack=True, deliver_policy=None
    )

    async def send(index: int) -> None:
        await publisher.publish_persistent(_alert(index))

    try:
        await measure_latencies_ms(range(-20, 0), send, arrived, WAIT_SECONDS)  # warm-up
        return await measure_latencies_ms(range(count), send, arrived, WAIT_SECONDS)
    finally:
        await subscription.unsubscribe()
        await subscriber.drain()
        await publisher.close()


async def _notification_latency(url: str, count: int, offset: int) -> list[float]:
    arrived: dict[int, asyncio.Event] = {}
    receiver = _Receiver(arrived)
    server = await asyncio.start_server(receiver.serve, "127.0.0.1", receiver.port)
    settings = NotifierSettings.model_validate(
        {
            "nats_url": url,
            "host_label": "bench",
            "webhook_urls": [f"http://127.0.0.1:{receiver.port}/hook"],
        }
    )
    publisher = await Bus.connect(url, ServiceName.ALERTING)

    async def send(index: int) -> None:
        await publisher.publish_persistent(_alert(index))

    try:
        async with running_notifier(settings):
            warm_up = range(offset - 20, offset)
            await measure_latencies_ms(warm_up, send, arrived, WAIT_SECONDS)
            timed = range(offset, offset + count)
            return await measure_latencies_ms(timed, send, arrived, WAIT_SECONDS)
    finally:
        await publisher.close()
        server.close()
        with contextlib.suppress(Exception):
            await server.wait_closed()


async def run(ctx: BenchContext) -> list[BenchResult]:
    """Measure p50 and p99 notification latency next to the stream's own."""
    count = 50 if ctx.quick else 500
    with NatsServer(ctx.work_dir / "nats") as server:
        stream_ms = await _stream_latency(server.url, count)
        notify_ms = await _notification_latency(server.url, count, offset=count + 100)
    return p50_p99_results(
        scenario=NAME,
        what="notification latency",
        ours_ms=notify_ms,
        reference_ms=stream_ms,
        reference_label="stream publish->JetStream subscriber",
        target_p99_ms=TARGET_P99_MS,
    )
