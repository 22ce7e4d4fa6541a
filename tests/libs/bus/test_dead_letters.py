"""A malformed message as big as the server allows is still dead-lettered, and the
service's connection survives it.

The server counts headers in max_payload while nats-py checks only the data, so
republishing such a message unchanged with the reason in headers was refused by the server,
which closes the connection for good (found by the fault suite's malformed flood).
"""

from __future__ import annotations

from nats.aio.msg import Msg

from ollamon_core import subjects
from ollamon_core.bus import ORIGINAL_SUBJECT_HEADER, TRUNCATED_HEADER
from ollamon_core.events import OllamaModelMetrics, ServiceName
from tests.conftest import BusFactory
from tests.support.waiting import collect, wait_for


async def test_a_malformed_message_at_max_payload_is_dead_lettered_truncated_and_the_bus_survives(
    bus_factory: BusFactory,
) -> None:
    bus = await bus_factory(ServiceName.ALERTING)
    sender = await bus_factory(ServiceName.PROBE)
    dead: list[Msg] = []

    async def keep(msg: Msg) -> None:
        dead.append(msg)

    await sender.nc.subscribe(subjects.DEADLETTER_ALL, cb=keep)
    handled: list[object] = []
    await bus.subscribe(subjects.REQUESTS_ALL, lambda event, msg: collect(handled, event))
    await bus.nc.flush()
    max_payload = sender.nc.max_payload
    await sender.nc.publish("ollamon.requests.big", b"{" + b"x" * (max_payload - 1))
    await wait_for(lambda: len(dead) == 1, timeout=5, message="the dead letter")

    assert bus.counters["dead_lettered"] == 1
    assert dead[0].headers is not None
    assert dead[0].headers[ORIGINAL_SUBJECT_HEADER] == "ollamon.requests.big"
    assert dead[0].headers[TRUNCATED_HEADER] == str(max_payload)
    assert 0 < len(dead[0].data) < max_payload
    assert dead[0].data == b"{" + b"x" * (len(dead[0].data) - 1)

    good = OllamaModelMetrics(model_name="still-connected", response_time_ms=1)
    await sender.publish(good)
    await wait_for(lambda: handled == [good], timeout=5, message="a valid event afterwards")
    assert bus.nc.is_connected and bus.counters["disconnects"] == 0


async def test_a_small_malformed_message_is_dead_lettered_whole(bus_factory: BusFactory) -> None:
    bus = await bus_factory(ServiceName.ALERTING)
    dead: list[Msg] = []

    async def keep(msg: Msg) -> None:
        dead.append(msg)

    await bus.nc.subscribe(subjects.DEADLETTER_ALL, cb=keep)
    await bus.subscribe(subjects.REQUESTS_ALL, lambda event, msg: collect([], event))
    await bus.nc.publish("ollamon.requests.small", b"{not json")
    await wait_for(lambda: len(dead) == 1, timeout=5, message="the dead letter")
    assert dead[0].data == b"{not json"
    assert dead[0].headers is not None and TRUNCATED_HEADER not in dead[0].headers
