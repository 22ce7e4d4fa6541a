"""Publishing and the JetStream outbox (`ollamon_core.bus.outbox`)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import nats

from ollamon_cli.nats_server import NatsServer
from ollamon_core import subjects
from ollamon_core.bus import MSG_ID_HEADER, Bus, SpoolConfig
from ollamon_core.events import OllamaModelMetrics, ServiceName
from tests.conftest import BusFactory
from tests.support.waiting import wait_for


async def test_emit_persists_through_jetstream_with_the_event_id(bus_factory: BusFactory) -> None:
    bus = await bus_factory(ServiceName.PROBE)
    event = OllamaModelMetrics(model_name="m", response_time_ms=1)
    assert bus.emit(event)
    assert bus.emit(event)  # a resend of the same event id is dropped by the stream
    assert await bus.flush_outbox(5)
    info = await bus.js.stream_info(subjects.STREAM_EVENTS)
    assert info.state.messages == 1


async def test_a_full_outbox_refuses_and_counts_the_event(clean_nats_url: str) -> None:
    bus = Bus(await nats.connect(clean_nats_url), ServiceName.PROBE, outbox_size=1)
    try:  # workers not started: nothing leaves the queue
        assert bus.emit(OllamaModelMetrics(model_name="m", response_time_ms=1))
        assert not bus.emit(OllamaModelMetrics(model_name="m", response_time_ms=2))
        assert bus.counters["outbox_dropped"] == 1
        assert bus.outbox_pending == 1
    finally:
        await bus.close(flush_timeout=0.1)
    assert bus.counters["publish_unsent"] == 1


async def test_without_a_spool_events_being_retried_at_shutdown_are_counted_unsent(
    isolated_nats_server: NatsServer,
) -> None:
    bus = await Bus.connect(isolated_nats_server.url, ServiceName.PROBE)
    await bus.ensure_streams()
    await asyncio.to_thread(isolated_nats_server.stop)
    for number in range(3):  # each taken by a worker, retried until shutdown
        assert bus.emit(OllamaModelMetrics(model_name="m", response_time_ms=number))
    await wait_for(lambda: bus.outbox_pending == 0, message="the workers holding the events")
    await bus.close(flush_timeout=0.1)
    assert bus.counters["publish_unsent"] == 3


async def test_a_lingering_outbox_publishes_what_came_within_the_linger_together_in_order(
    clean_nats_url: str,
) -> None:
    bus = await Bus.connect(clean_nats_url, ServiceName.PROBE, outbox_linger_seconds=1.0)
    try:
        await bus.ensure_streams()
        sent = [OllamaModelMetrics(model_name="m", response_time_ms=n) for n in range(5)]
        for event in sent:
            assert bus.emit(event)
        await asyncio.sleep(0.2)  # well within the linger: nothing is published yet
        info = await bus.js.stream_info(subjects.STREAM_EVENTS)
        assert info.state.messages == 0
        assert await bus.flush_outbox(5)
        ids = [
            (await bus.js.get_msg(subjects.STREAM_EVENTS, sequence)).headers or {}
            for sequence in range(1, 6)
        ]
        assert [headers.get(MSG_ID_HEADER) for headers in ids] == [e.event_id for e in sent]
    finally:
        await bus.close(flush_timeout=1)


async def test_events_lingering_at_shutdown_are_spooled_then_replayed(
    tmp_path: Path, clean_nats_url: str
) -> None:
    config = SpoolConfig(tmp_path / "spool")
    bus = await Bus.connect(
        clean_nats_url, ServiceName.PROBE, spool=config, outbox_linger_seconds=10.0
    )
    await bus.ensure_streams()
    sent = [OllamaModelMetrics(model_name="m", response_time_ms=n) for n in range(3)]
    for event in sent:
        assert bus.emit(event)
    await wait_for(lambda: bus.outbox_pending < len(sent), message="a worker lingering")
    await bus.close(flush_timeout=0)
    assert bus.counters["publish_unsent"] == 0

    again = await Bus.connect(clean_nats_url, ServiceName.PROBE, spool=config)
    try:
        assert again.spool is not None
        replayed = again.spool
        await wait_for(lambda: replayed.events == 0, timeout=10, message="the spool replayed")
        info = await again.js.stream_info(subjects.STREAM_EVENTS)
        assert info.state.messages == len(sent)
    finally:
        await again.close(flush_timeout=1)
