"""The bus wrapper against a real nats-server."""

from __future__ import annotations

import pytest
from nats.aio.msg import Msg

from ollamon_core import subjects
from ollamon_core.bus import (
    ERROR_HEADER,
    ORIGINAL_SUBJECT_HEADER,
    Bus,
    QueryFailedError,
    ServiceUnavailableError,
)
from ollamon_core.events import OllamaModelMetrics, ServiceName
from ollamon_core.events.queries import CleanupReply, CleanupRequest, QueryError
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


async def test_emit_persists_through_jetstream_with_the_event_id(bus_factory: BusFactory) -> None:
    bus = await bus_factory(ServiceName.PROBE)
    event = OllamaModelMetrics(model_name="m", response_time_ms=1)
    assert bus.emit(event)
    assert bus.emit(event)  # a resend of the same event id is dropped by the stream
    assert await bus.flush_outbox(5)
    info = await bus.js.stream_info(subjects.STREAM_EVENTS)
    assert info.state.messages == 1


async def test_request_reply_round_trips_typed_models(bus_factory: BusFactory) -> None:
    bus = await bus_factory(ServiceName.STORAGE)

    async def answer(request: CleanupRequest) -> CleanupReply:
        return CleanupReply(deleted={"requests": request.days_to_keep})

    await bus.serve(subjects.QUERY_CLEANUP, answer)
    reply = await bus.request(subjects.QUERY_CLEANUP, CleanupRequest(days_to_keep=3))
    assert reply == CleanupReply(deleted={"requests": 3})


async def test_a_bad_request_gets_an_error_reply_with_the_reason(bus_factory: BusFactory) -> None:
    bus = await bus_factory(ServiceName.STORAGE)

    async def answer(request: CleanupRequest) -> CleanupReply:
        return CleanupReply(deleted={})

    await bus.serve(subjects.QUERY_CLEANUP, answer)
    msg = await bus.nc.request(subjects.QUERY_CLEANUP, b'{"days_to_keep": -1}', timeout=2)
    assert msg.headers is not None and msg.headers[ERROR_HEADER]
    error = QueryError.model_validate_json(msg.data)
    assert error.status_code == 400
    assert "days_to_keep" in error.error
    assert bus.counters["invalid_messages"] == 1


async def test_request_without_a_responder_raises_service_unavailable(
    bus_factory: BusFactory,
) -> None:
    bus = await bus_factory(ServiceName.GATEWAY)
    with pytest.raises(ServiceUnavailableError):
        await bus.request(subjects.QUERY_CLEANUP, CleanupRequest(), timeout=0.5)


async def test_a_failing_handler_answers_500(bus_factory: BusFactory) -> None:
    bus = await bus_factory(ServiceName.STORAGE)

    async def answer(request: CleanupRequest) -> CleanupReply:
        raise RuntimeError("disk on fire")

    await bus.serve(subjects.QUERY_CLEANUP, answer)
    with pytest.raises(QueryFailedError) as caught:
        await bus.request(subjects.QUERY_CLEANUP, CleanupRequest())
    assert caught.value.error.status_code == 500


async def test_closing_the_bus_is_not_counted_as_a_disconnect(clean_nats_url: str) -> None:
    bus = await Bus.connect(clean_nats_url, ServiceName.COLLECTOR)
    await bus.close()
    assert bus.counters["disconnects"] == 0
