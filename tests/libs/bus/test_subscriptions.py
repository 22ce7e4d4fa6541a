"""Core subscriptions with validated models (`ollamon_core.bus.subscriptions`)."""

from __future__ import annotations

from nats.aio.msg import Msg

from ollamon_core import subjects
from ollamon_core.bus import ERROR_HEADER, ORIGINAL_SUBJECT_HEADER
from ollamon_core.events import OllamaModelMetrics, ServiceName
from tests.conftest import BusFactory
from tests.support.waiting import collect, wait_for


async def test_subscribe_delivers_validated_models(bus_factory: BusFactory) -> None:
    bus = await bus_factory(ServiceName.ALERTING)
    received: list[object] = []
    await bus.subscribe(subjects.REQUESTS_ALL, lambda event, msg: collect(received, event))
    sent = OllamaModelMetrics(model_name="llama3.2:1b", response_time_ms=12.5)
    await bus.publish(sent)
    await wait_for(lambda: received)
    assert received == [sent]


async def test_invalid_messages_are_counted_and_dead_lettered(bus_factory: BusFactory) -> None:
    bus = await bus_factory(ServiceName.ALERTING)
    dead: list[Msg] = []

    async def keep(msg: Msg) -> None:
        dead.append(msg)

    await bus.nc.subscribe(subjects.DEADLETTER_ALL, cb=keep)
    handled: list[object] = []
    await bus.subscribe(subjects.REQUESTS_ALL, lambda event, msg: collect(handled, event))
    await bus.nc.publish("ollamon.requests.x", b"{not json")
    await bus.nc.publish("ollamon.requests.x", b'{"model_name": 5}')
    await wait_for(lambda: len(dead) == 2)
    assert handled == []
    assert bus.counters["invalid_messages"] == 2
    assert dead[0].data == b"{not json"
    assert dead[0].headers is not None
    assert dead[0].headers[ORIGINAL_SUBJECT_HEADER] == "ollamon.requests.x"
    assert dead[0].headers[ERROR_HEADER]


async def test_a_handler_that_raises_is_counted_and_the_next_message_still_arrives(
    bus_factory: BusFactory,
) -> None:
    bus = await bus_factory(ServiceName.ALERTING)
    received: list[OllamaModelMetrics] = []

    async def fail_first(event: OllamaModelMetrics, _msg: Msg) -> None:
        received.append(event)
        if len(received) == 1:
            raise RuntimeError("handler bug")

    await bus.subscribe(subjects.REQUESTS_ALL, fail_first)
    for index in range(2):
        await bus.publish(OllamaModelMetrics(model_name="m", response_time_ms=index))
    await wait_for(lambda: len(received) == 2, message="both events handled")
    assert bus.counters["handler_errors"] == 1
