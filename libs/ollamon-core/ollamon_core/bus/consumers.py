"""Durable JetStream push consumers, with the ack policy named at every call.

The ack policy decides who settles a message that does not validate (it never reaches the
handler, which would otherwise settle it):

- `AckMode.EXPLICIT` (JetStream `AckPolicy.EXPLICIT`): an ack settles that message only, so
  an invalid message is dead-lettered and acked here at once.
- `AckMode.ALL` (JetStream `AckPolicy.ALL`): an ack settles every earlier delivery too, so
  acking an invalid message here could settle valid ones the handler has not finished.
  It is dead-lettered and left unacked: the handler's next ack of a later message settles
  it (if none comes, the server delivers it again after the ack wait).

A push consumer, not a pull one: with nats-py, `fetch()` costs several times the client
CPU per message (docs/decisions/0003-push-consumer.md). `decode` turns a message into its
event (`wire.parse`, pydantic, unless the caller has a faster decoder that raises the same
ValidationError; storage's is `ollamon_storage/decoding.py`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from enum import StrEnum
from typing import Any

import nats.js.errors
from nats.aio.msg import Msg
from nats.js import JetStreamContext, api
from pydantic import ValidationError

from ollamon_core import subjects
from ollamon_core.bus.dead_letters import DeadLetters
from ollamon_core.bus.subscriptions import EventHandler
from ollamon_core.bus.wire import parse

MAX_ACK_PENDING = 20_000
ACK_WAIT_SECONDS = 30.0


class AckMode(StrEnum):
    """How the handler's acks settle a durable consumer's messages (JetStream's ack policy)."""

    EXPLICIT = "explicit"
    ALL = "all"

    @property
    def policy(self) -> api.AckPolicy:
        """The JetStream ack policy of consumers created in this mode."""
        return api.AckPolicy(self.value)


class ConsumerMismatchError(Exception):
    """A durable consumer already exists with another ack policy (it cannot be changed)."""

    def __init__(self, durable: str, wanted: AckMode, found: object) -> None:
        super().__init__(
            f"durable consumer {durable!r} acks {getattr(found, 'value', found)}, "
            f"not {wanted.value}: delete it (or create it afresh) to change its ack policy"
        )
        self.durable = durable
        self.wanted = wanted


async def consume_durable(
    js: JetStreamContext,
    durable: str,
    handler: EventHandler,
    *,
    ack: AckMode,
    dead_letters: DeadLetters,
    filter_subject: str = subjects.EVERYTHING,
    stream: str = subjects.STREAM_EVENTS,
    max_ack_pending: int = MAX_ACK_PENDING,
    ack_wait_seconds: float = ACK_WAIT_SECONDS,
    start_sequence: int | None = None,
    decode: Callable[[Msg], Any] = parse,
) -> JetStreamContext.PushSubscription:
    """Bind `handler` to the durable push consumer `durable`, creating it if missing.

    Messages reach the handler in delivery order, validated; the handler acks each (or,
    with `AckMode.ALL`, the latest) once its work is safely done. Invalid messages are
    dead-lettered and settled as the module docstring says. An existing durable is bound
    as it is, so it must have been created with the same ack mode (else
    ConsumerMismatchError); `start_sequence` starts a newly created one at that stream
    sequence.
    """
    await _check_existing(js, stream, durable, ack)

    async def callback(msg: Msg) -> None:
        try:
            event = decode(msg)
        except ValidationError as error:
            await _settle_invalid(msg, str(error), ack, dead_letters)
            return
        if event is None:
            await _settle_invalid(msg, "no model for subject", ack, dead_letters)
            return
        await handler(event, msg)

    config = api.ConsumerConfig(
        ack_policy=ack.policy,
        max_ack_pending=max_ack_pending,
        ack_wait=ack_wait_seconds,
        deliver_policy=api.DeliverPolicy.ALL,
    )
    if start_sequence is not None and start_sequence > 1:
        config.deliver_policy = api.DeliverPolicy.BY_START_SEQUENCE
        config.opt_start_seq = start_sequence
    return await js.subscribe(
        filter_subject,
        durable=durable,
        stream=stream,
        cb=callback,
        manual_ack=True,
        config=config,
        pending_msgs_limit=max_ack_pending * 2,
    )


async def _check_existing(js: JetStreamContext, stream: str, durable: str, ack: AckMode) -> None:
    # nats-py binds an existing durable whatever its configuration.
    try:
        info = await js.consumer_info(stream, durable)
    except nats.js.errors.NotFoundError:
        return
    if info.config.ack_policy != ack.policy:
        raise ConsumerMismatchError(durable, ack, info.config.ack_policy)


async def ack_each(messages: Sequence[Msg]) -> None:
    """Ack every message (as `Msg.ack()` does each, for `AckMode.EXPLICIT`) in one write.

    nats-py has no batch publish, and a `Msg.ack()` (its `publish` of an empty `+ACK` to the
    reply subject) costs about 2 µs of client CPU; this hands the same `PUB <reply> 0`
    commands to the client's write buffer at once, through the method its `publish` uses
    (`_send_command`), then wakes its flusher: about 0.2 µs per message
    (`python -m bench.ingest_parts`). While the connection is not up (or with a nats-py
    without that method) each message is acked by `Msg.ack()`, which buffers or raises as
    a publish does. Raises nats-py's errors as `Msg.ack()` would.
    """
    if not messages:
        return
    client = messages[0]._client  # the connection the messages came on
    send = getattr(client, "_send_command", None)
    if send is None or not client.is_connected or any(not msg.reply for msg in messages):
        for msg in messages:
            await msg.ack()
        return
    await send(b"".join(b"PUB %s 0\r\n\r\n" % msg.reply.encode() for msg in messages))
    await client._flush_pending()  # as its publish does


async def _settle_invalid(msg: Msg, reason: str, ack: AckMode, dead_letters: DeadLetters) -> None:
    await dead_letters.send(msg, reason)
    if ack is AckMode.EXPLICIT:
        await msg.ack()
