"""Typed request/reply (`ollamon_core.bus.requests`) against a real nats-server."""

from __future__ import annotations

import pytest

from ollamon_core import subjects
from ollamon_core.bus import ERROR_HEADER, QueryFailedError, ServiceUnavailableError
from ollamon_core.events import ServiceName
from ollamon_core.events.queries import CleanupReply, CleanupRequest, QueryError
from tests.conftest import BusFactory


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
    msg = await bus.nc.request(subjects.QUERY_CLEANUP.subject, b'{"days_to_keep": -1}', timeout=2)
    assert msg.headers is not None and msg.headers[ERROR_HEADER]
    error = QueryError.model_validate_json(msg.data)
    assert error.status_code == 400
    assert "days_to_keep" in error.error
    assert bus.counters["invalid_messages"] == 1


async def test_request_without_a_responder_raises_service_unavailable(
    bus_factory: BusFactory,
) -> None:
    bus = await bus_factory(ServiceName.GATEWAY)
    with pytest.raises(ServiceUnavailableError) as caught:
        await bus.request(subjects.QUERY_CLEANUP, CleanupRequest(), timeout=0.5)
    assert caught.value.subject == subjects.QUERY_CLEANUP.subject


async def test_a_failing_handler_answers_500(bus_factory: BusFactory) -> None:
    bus = await bus_factory(ServiceName.STORAGE)

    async def answer(request: CleanupRequest) -> CleanupReply:
        raise RuntimeError("disk on fire")

    await bus.serve(subjects.QUERY_CLEANUP, answer)
    with pytest.raises(QueryFailedError) as caught:
        await bus.request(subjects.QUERY_CLEANUP, CleanupRequest())
    assert caught.value.error.status_code == 500
    assert (
        caught.value.error.error
        == "ollamon.query.cleanup failed (RuntimeError); see the service's log"
    )
    assert bus.counters["handler_errors"] == 1


async def test_a_handler_raising_query_failed_answers_with_its_error(
    bus_factory: BusFactory,
) -> None:
    bus = await bus_factory(ServiceName.STORAGE)

    async def answer(request: CleanupRequest) -> CleanupReply:
        raise QueryFailedError(QueryError(error="too soon", status_code=409))

    await bus.serve(subjects.QUERY_CLEANUP, answer)
    with pytest.raises(QueryFailedError) as caught:
        await bus.request(subjects.QUERY_CLEANUP, CleanupRequest())
    assert caught.value.error == QueryError(error="too soon", status_code=409)
    assert bus.counters["handler_errors"] == 0
