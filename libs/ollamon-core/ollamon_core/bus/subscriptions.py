"""Core NATS subscriptions whose handlers get validated models only."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from pydantic import ValidationError

from ollamon_core.bus.dead_letters import DeadLetters
from ollamon_core.bus.wire import parse

log = logging.getLogger(__name__)

# The event is the model of the message's subject (`subjects.SUBJECT_MODELS`).
EventHandler = Callable[[Any, Msg], Awaitable[None]]


async def subscribe(
    nc: NatsClient,
    subject: str,
    handler: EventHandler,
    *,
    dead_letters: DeadLetters,
    counters: Counter[str],
    queue: str = "",
) -> Subscription:
    """Subscribe `handler` to `subject` (live only: nothing is acked or replayed).

    Messages on subjects without a model (replies, queries) are skipped; invalid ones are
    dead-lettered; a handler that raises is logged and counted, never fatal.
    """

    async def callback(msg: Msg) -> None:
        try:
            event = parse(msg)
        except ValidationError as error:
            await dead_letters.send(msg, str(error))
            return
        if event is None:
            return
        try:
            await handler(event, msg)
        except Exception:
            counters["handler_errors"] += 1
            log.exception("handler failed on %s", msg.subject)

    return await nc.subscribe(subject, queue=queue, cb=callback)
