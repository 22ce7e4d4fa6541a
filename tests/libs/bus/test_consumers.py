"""Durable consumers (`ollamon_core.bus.consumers`) against a real nats-server: the ack
policy is the one named, and invalid messages are settled by the rule of that policy."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from nats.aio.msg import Msg
from nats.js import api

from ollamon_core import subjects
from ollamon_core.bus import AckMode, Bus, ConsumerMismatchError
from ollamon_core.bus.consumers import ack_each
from ollamon_core.events import OllamaModelMetrics, ServiceName
from tests.conftest import BusFactory
from tests.support.waiting import wait_for, wait_for_async

DURABLE = "test-durable"


async def _info(bus: Bus) -> api.ConsumerInfo:
    return await bus.js.consumer_info(subjects.STREAM_EVENTS, DURABLE)


def _floor(info: api.ConsumerInfo) -> int:
    return (info.ack_floor.stream_seq or 0) if info.ack_floor else 0


def _settled(bus: Bus, *, pending: int, floor: int) -> Callable[[], Awaitable[bool]]:
    async def reached() -> bool:
        info = await _info(bus)
        return info.num_ack_pending == pending and _floor(info) == floor

    return reached


class Keeper:
    """A handler that keeps every message it gets and acks none."""

    def __init__(self) -> None:
        self.msgs: list[Msg] = []

    async def __call__(self, event: object, msg: Msg) -> None:
        self.msgs.append(msg)


@pytest.mark.parametrize("mode", list(AckMode))
async def test_the_ack_policy_named_is_the_one_the_server_reports(
    bus_factory: BusFactory, mode: AckMode
) -> None:
    bus = await bus_factory(ServiceName.STORAGE)
    await bus.consume_durable(DURABLE, Keeper(), ack=mode)
    assert (await _info(bus)).config.ack_policy == mode.policy


async def test_binding_a_durable_created_with_another_ack_policy_fails(
    bus_factory: BusFactory,
) -> None:
    bus = await bus_factory(ServiceName.STORAGE)
    subscription = await bus.consume_durable(DURABLE, Keeper(), ack=AckMode.ALL)
    await subscription.unsubscribe()
    with pytest.raises(ConsumerMismatchError, match="acks all, not explicit"):
        await bus.consume_durable(DURABLE, Keeper(), ack=AckMode.EXPLICIT)
    assert (await _info(bus)).config.ack_policy == api.AckPolicy.ALL


async def test_with_explicit_acks_an_invalid_message_is_acked_here_and_a_valid_one_waits(
    bus_factory: BusFactory,
) -> None:
    bus = await bus_factory(ServiceName.STORAGE)
    await bus.publish_persistent(OllamaModelMetrics(model_name="m", response_time_ms=1))
    await bus.js.publish("ollamon.requests.x", b"{not json")
    handler = Keeper()
    await bus.consume_durable(DURABLE, handler, ack=AckMode.EXPLICIT)
    # Stream sequence 2 (invalid) is acked by the bus, 1 (valid) waits for the handler.
    await wait_for_async(_settled(bus, pending=1, floor=0), message="the invalid one acked")
    assert bus.counters["dead_lettered"] == 1
    assert len(handler.msgs) == 1
    await handler.msgs[0].ack()
    await wait_for_async(_settled(bus, pending=0, floor=2), message="the handler's ack")


async def test_with_cumulative_acks_an_invalid_message_is_settled_by_the_handlers_next_ack(
    bus_factory: BusFactory,
) -> None:
    bus = await bus_factory(ServiceName.STORAGE)
    await bus.publish_persistent(OllamaModelMetrics(model_name="m", response_time_ms=1))
    await bus.js.publish("ollamon.requests.x", b"{not json")
    await bus.publish_persistent(OllamaModelMetrics(model_name="m", response_time_ms=2))
    handler = Keeper()
    await bus.consume_durable(DURABLE, handler, ack=AckMode.ALL)
    await wait_for(lambda: len(handler.msgs) == 2, message="both valid messages handled")
    assert bus.counters["dead_lettered"] == 1
    await bus.nc.flush()  # any ack the bus sent before the last delivery has reached the server
    info = await _info(bus)
    assert (info.num_ack_pending, _floor(info)) == (3, 0), "the bus acked by itself"
    await handler.msgs[-1].ack()  # one cumulative ack settles all three
    await wait_for_async(_settled(bus, pending=0, floor=3), message="one ack settling all")


async def test_a_new_durable_can_start_at_a_stream_sequence(bus_factory: BusFactory) -> None:
    bus = await bus_factory(ServiceName.STORAGE)
    events = [OllamaModelMetrics(model_name="m", response_time_ms=index) for index in range(5)]
    for event in events:
        await bus.publish_persistent(event)
    received: list[object] = []

    async def keep(event: object, msg: Msg) -> None:
        received.append(event)

    await bus.consume_durable(DURABLE, keep, ack=AckMode.EXPLICIT, start_sequence=4)
    await wait_for(lambda: len(received) == 2, timeout=5)
    assert received == events[3:]


async def test_ack_each_settles_exactly_the_messages_given_in_one_write(
    bus_factory: BusFactory,
) -> None:
    bus = await bus_factory(ServiceName.STORAGE)
    for index in range(6):
        await bus.publish_persistent(OllamaModelMetrics(model_name="m", response_time_ms=index))
    handler = Keeper()
    await bus.consume_durable(DURABLE, handler, ack=AckMode.EXPLICIT)
    await wait_for(lambda: len(handler.msgs) == 6, message="six delivered")
    await ack_each(handler.msgs[:4])
    await wait_for_async(_settled(bus, pending=2, floor=4), message="the first four acked")
    await ack_each([])
    await ack_each(handler.msgs[4:])
    await wait_for_async(_settled(bus, pending=0, floor=6), message="all six acked")
