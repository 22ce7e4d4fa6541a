"""The outbox with a disk spool across a NATS outage and a restart of the process's bus."""

from __future__ import annotations

import asyncio
from pathlib import Path

import nats

from ollamon_cli.nats_server import NatsServer
from ollamon_core import subjects
from ollamon_core.bus import MSG_ID_HEADER, Bus, SpoolConfig
from ollamon_core.events import OllamaModelMetrics, ServiceName
from tests.support.waiting import wait_for, wait_for_async


async def stream_message_ids(url: str) -> list[str]:
    """Every message id in the event stream, in stream order."""
    nc = await nats.connect(url)
    try:
        js = nc.jetstream()
        info = await js.stream_info(subjects.STREAM_EVENTS)
        ids = []
        for sequence in range(info.state.first_seq, info.state.last_seq + 1):
            message = await js.get_msg(subjects.STREAM_EVENTS, sequence)
            ids.append((message.headers or {}).get(MSG_ID_HEADER, ""))
        return ids
    finally:
        await nc.close()


def events(first: int, count: int) -> list[OllamaModelMetrics]:
    return [
        OllamaModelMetrics(model_name="m", response_time_ms=n) for n in range(first, first + count)
    ]


async def test_events_emitted_while_nats_is_down_reach_the_stream_once_after_a_bus_restart(
    tmp_path: Path, isolated_nats_server: NatsServer
) -> None:
    server = isolated_nats_server
    config = SpoolConfig(tmp_path / "spool")
    bus = await Bus.connect(server.url, ServiceName.PROBE, spool=config)
    await bus.ensure_streams()
    before, during, at_close = events(0, 5), events(100, 50), events(200, 20)
    for event in before:
        assert bus.emit(event)
    assert await bus.flush_outbox(5)

    await asyncio.to_thread(server.stop)
    await wait_for(lambda: not bus.nc.is_connected, message="the bus seeing NATS gone")
    for event in during:
        assert bus.emit(event)
    assert bus.spool is not None
    spool = bus.spool
    await wait_for(lambda: spool.events == len(during), message="the outage's events spooled")
    assert bus.counters["spool_events"] == len(during)
    for event in at_close:  # still in memory when the process's bus goes away
        assert bus.emit(event)
    await bus.close(flush_timeout=0)
    assert bus.counters["publish_unsent"] == 0

    await asyncio.to_thread(server.start)
    again = await Bus.connect(server.url, ServiceName.PROBE, spool=config)
    try:
        assert again.spool is not None
        replayed = again.spool
        assert again.emit(before[0])  # a resend of an event already stored
        for event in events(300, 5):
            assert again.emit(event)
        await wait_for(lambda: replayed.events == 0, timeout=15, message="the spool replayed")
        assert await again.flush_outbox(5)
        expected = [e.event_id for e in (*before, *during, *at_close)]

        async def all_in_stream() -> list[str] | None:
            ids = await stream_message_ids(server.url)
            return ids if len(ids) >= len(expected) + 5 else None

        ids = await wait_for_async(all_in_stream, timeout=10, message="every event in the stream")
        assert isinstance(ids, list)
        assert len(ids) == len(set(ids)) == len(expected) + 5  # each exactly once
        assert ids[: len(expected)] == expected  # in the order emitted
        assert again.counters["spool_replayed"] >= len(during) + len(at_close)
    finally:
        await again.close(flush_timeout=1)


async def test_a_spool_folder_the_service_may_not_write_leaves_it_running_in_memory(
    tmp_path: Path, clean_nats_url: str
) -> None:
    blocked = tmp_path / "not-a-folder"
    await asyncio.to_thread(blocked.write_text, "a file where the folder should be")
    bus = await Bus.connect(clean_nats_url, ServiceName.PROBE, spool=SpoolConfig(blocked / "spool"))
    try:
        await bus.ensure_streams()
        assert bus.spool is None
        assert bus.counters["spool_errors"] == 1
        assert bus.emit(OllamaModelMetrics(model_name="m", response_time_ms=1))
        assert await bus.flush_outbox(5)
    finally:
        await bus.close(flush_timeout=1)
