"""`Bus.consume_durable` against a real nats-server: per-message and cumulative acks."""

from __future__ import annotations

import asyncio

from nats.aio.msg import Msg
from nats.js import api

from ollamon_core import subjects
from ollamon_core.bus import Bus
from ollamon_core.events import OllamaModelMetrics, ServiceName
from tests.conftest import BusFactory
from tests.support.waiting import wait_for, wait_for_async

DURABLE = "test-durable"


async def _ack_pending(bus: Bus) -> int:
    info = await bus.js.consumer_info(subjects.STREAM_EVENTS, DURABLE)
    return info.num_ack_pending


async def test_invalid_messages_are_dead_lettered_and_acked_by_an_explicit_consumer(
    bus_factory: BusFactory,
) -> None:
    bus = await bus_factory(ServiceName.STORAGE)
    await bus.js.publish("ollamon.requests.x", b"{not json")
    handled: list[object] = []

    async def keep(event: object, msg: Msg) -> None:
        handled.append(event)

    await bus.consume_durable(DURABLE, keep)
    await wait_for(lambda: bus.counters["dead_lettered"] == 1, timeout=5)

    async def none_pending() -> bool:
        return await _ack_pending(bus) == 0

    await wait_for_async(none_pending, timeout=5, message="the invalid message acked")
    info = await bus.js.consumer_info(subjects.STREAM_EVENTS, DURABLE)
    assert info.config.ack_policy == api.AckPolicy.EXPLICIT
    assert handled == []


async def test_with_cumulative_acks_invalid_messages_are_handed_over_in_order_unacked(
    bus_factory: BusFactory,
) -> None:
    bus = await bus_factory(ServiceName.STORAGE)
    good = OllamaModelMetrics(model_name="m", response_time_ms=1)
    await bus.publish_persistent(good)
    await bus.js.publish("ollamon.requests.x", b"{not json")
    seen: list[tuple[str, Msg]] = []

    async def keep(event: object, msg: Msg) -> None:
        seen.append(("valid", msg))

    async def keep_dead(msg: Msg) -> None:
        seen.append(("dead-lettered", msg))

    await bus.consume_durable(DURABLE, keep, on_dead_lettered=keep_dead)
    await wait_for(lambda: len(seen) == 2, timeout=5)
    assert [kind for kind, _ in seen] == ["valid", "dead-lettered"]
    assert bus.counters["dead_lettered"] == 1
    await asyncio.sleep(0.2)  # the bus acked nothing by itself: both still pending
    assert await _ack_pending(bus) == 2
    await seen[-1][1].ack()  # one cumulative ack settles both

    async def none_pending() -> bool:
        return await _ack_pending(bus) == 0

    await wait_for_async(none_pending, timeout=5, message="one ack settling both")
    info = await bus.js.consumer_info(subjects.STREAM_EVENTS, DURABLE)
    assert info.config.ack_policy == api.AckPolicy.ALL


async def test_a_new_durable_can_start_at_a_stream_sequence(bus_factory: BusFactory) -> None:
    bus = await bus_factory(ServiceName.STORAGE)
    events = [OllamaModelMetrics(model_name="m", response_time_ms=index) for index in range(5)]
    for event in events:
        await bus.publish_persistent(event)
    received: list[object] = []

    async def keep(event: object, msg: Msg) -> None:
        received.append(event)

    async def keep_dead(msg: Msg) -> None:
        raise AssertionError("nothing invalid was sent")

    await bus.consume_durable(DURABLE, keep, on_dead_lettered=keep_dead, start_sequence=4)
    await wait_for(lambda: len(received) == 2, timeout=5)
    assert received == events[3:]
