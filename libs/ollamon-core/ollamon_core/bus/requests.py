"""Typed request/reply: a `QueryRoute` names the subject, the request and the reply model.

A request that does not validate is dead-lettered and answered with a `QueryError` (400);
a handler that raises `QueryFailedError` answers with its error, any other exception with
a 500 naming only the exception's type (the log has the rest). Error replies carry the
`Ollamon-Error` header.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import TypeVar

import nats.errors
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from pydantic import BaseModel, ValidationError

from ollamon_core.bus.dead_letters import DeadLetters
from ollamon_core.bus.wire import ERROR_HEADER, encode
from ollamon_core.events.queries import QueryError
from ollamon_core.subjects import QueryRoute

log = logging.getLogger(__name__)

RequestT = TypeVar("RequestT", bound=BaseModel)
ReplyT = TypeVar("ReplyT", bound=BaseModel)

# What answers one route: `QueryHandler[SummaryQuery, SummaryReply]`.
QueryHandler = Callable[[RequestT], Awaitable[ReplyT]]

REQUEST_TIMEOUT_SECONDS = 5.0


class ServiceUnavailableError(Exception):
    """Nobody answered a request in time (the named service is down or too slow)."""

    def __init__(self, subject: str, reason: str) -> None:
        super().__init__(f"no answer on {subject}: {reason}")
        self.subject = subject
        self.reason = reason


class QueryFailedError(Exception):
    """The service answered with an error."""

    def __init__(self, error: QueryError) -> None:
        super().__init__(error.error)
        self.error = error


async def request(
    nc: NatsClient,
    route: QueryRoute[RequestT, ReplyT],
    query: RequestT,
    *,
    timeout: float = REQUEST_TIMEOUT_SECONDS,
) -> ReplyT:
    """Send a typed request on `route` and return its typed reply.

    Raises ServiceUnavailableError when nobody answers in time and QueryFailedError when
    the service answers with an error.
    """
    try:
        msg = await nc.request(route.subject, encode(query), timeout=timeout)
    except nats.errors.NoRespondersError as error:
        raise ServiceUnavailableError(route.subject, "no responders") from error
    except (nats.errors.TimeoutError, TimeoutError) as error:
        raise ServiceUnavailableError(route.subject, f"timed out after {timeout}s") from error
    if msg.headers and msg.headers.get(ERROR_HEADER):
        raise QueryFailedError(QueryError.model_validate_json(msg.data))
    return route.reply.model_validate_json(msg.data)


async def serve(
    nc: NatsClient,
    route: QueryRoute[RequestT, ReplyT],
    handler: QueryHandler[RequestT, ReplyT],
    *,
    dead_letters: DeadLetters,
    counters: Counter[str],
    queue: str = "",
) -> Subscription:
    """Answer requests on `route` with `handler` (one queue group per subject by default)."""

    async def callback(msg: Msg) -> None:
        try:
            query = route.request.model_validate_json(msg.data)
        except ValidationError as error:
            await dead_letters.send(msg, str(error))
            await _reply_error(nc, msg, QueryError(error=_brief(error), status_code=400))
            return
        try:
            reply = await handler(query)
        except QueryFailedError as error:
            await _reply_error(nc, msg, error.error)
            return
        except Exception as error:
            counters["handler_errors"] += 1
            log.exception("query handler failed on %s", route.subject)
            # The log has the exception; the answer only its kind (its text may hold paths).
            reason = f"{route.subject} failed ({type(error).__name__}); see the service's log"
            await _reply_error(nc, msg, QueryError(error=reason, status_code=500))
            return
        if msg.reply:
            await nc.publish(msg.reply, encode(reply))

    return await nc.subscribe(route.subject, queue=queue or f"ollamon-{route.subject}", cb=callback)


async def _reply_error(nc: NatsClient, msg: Msg, error: QueryError) -> None:
    if msg.reply:
        await nc.publish(msg.reply, encode(error), headers={ERROR_HEADER: "1"})


def _brief(error: ValidationError) -> str:
    parts = [
        f"{'.'.join(str(loc) for loc in item['loc']) or 'body'}: {item['msg']}"
        for item in error.errors()[:5]
    ]
    return "; ".join(parts)
