"""A small typed wrapper over nats-py: publish models, subscribe with validation,
consume JetStream durably, request/reply with typed models, and dead-letter bad input.

A message that does not validate never reaches a handler and never crashes a service: it is
counted and republished, unchanged, on `ollamon.deadletter.<service>` with the reason in
headers (the dead-letter stream keeps it).
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import nats
import nats.errors
import nats.js.errors
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.js import JetStreamContext, api
from pydantic import BaseModel, ValidationError

from ollamon_core import subjects
from ollamon_core.events import Event, ServiceName
from ollamon_core.events.queries import QueryError

log = logging.getLogger(__name__)

ModelT = TypeVar("ModelT", bound=BaseModel)
EventHandler = Callable[[Any, Msg], Awaitable[None]]
QueryHandler = Callable[[Any], Awaitable[BaseModel]]
DeadLetteredHandler = Callable[[Msg], Awaitable[None]]

MSG_ID_HEADER = "Nats-Msg-Id"
ORIGINAL_SUBJECT_HEADER = "Ollamon-Original-Subject"
ERROR_HEADER = "Ollamon-Error"
MAX_ERROR_HEADER_CHARS = 512
TRUNCATED_HEADER = "Ollamon-Truncated-From-Bytes"
OUTBOX_WORKERS = 8


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


def encode(model: BaseModel) -> bytes:
    """Serialise a model to the JSON bytes that travel on the bus."""
    return model.model_dump_json().encode()


class Bus:
    """One service's connection to NATS."""

    def __init__(self, nc: NatsClient, service: ServiceName, *, outbox_size: int = 10_000) -> None:
        self.nc = nc
        self.js: JetStreamContext = nc.jetstream()
        self.service = ServiceName(service)
        self.counters: Counter[str] = Counter()
        self._outbox: asyncio.Queue[Event] = asyncio.Queue(maxsize=outbox_size)
        self._outbox_workers: list[asyncio.Task[None]] = []
        self.closing = False

    @classmethod
    async def connect(cls, url: str, service: ServiceName, **options: Any) -> Bus:
        """Connect, reconnecting forever, and start the JetStream outbox."""
        counters_ref: list[Bus] = []

        async def on_disconnect() -> None:
            if counters_ref and counters_ref[0].closing:
                log.debug("NATS connection closed")  # our own drain at shutdown
                return
            if counters_ref:
                counters_ref[0].counters["disconnects"] += 1
            log.warning("NATS disconnected")

        async def on_reconnect() -> None:
            if counters_ref:
                counters_ref[0].counters["reconnects"] += 1
            log.info("NATS reconnected")

        async def on_error(error: Exception) -> None:
            log.debug("NATS error: %s", error)

        nc = await nats.connect(
            servers=[part.strip() for part in url.split(",") if part.strip()],
            name=f"ollamon-{ServiceName(service).value}",
            max_reconnect_attempts=-1,
            reconnect_time_wait=0.5,
            connect_timeout=options.pop("connect_timeout", 5),
            disconnected_cb=on_disconnect,
            reconnected_cb=on_reconnect,
            error_cb=on_error,
            **options,
        )
        bus = cls(nc, service)
        counters_ref.append(bus)
        bus.start_outbox()
        return bus

    # Publishing -------------------------------------------------------------------------

    async def publish(self, event: Event) -> None:
        """Publish on core NATS (live fan-out; stored if the subject is in the stream)."""
        await self.nc.publish(
            subjects.subject_for(event), encode(event), headers={MSG_ID_HEADER: event.event_id}
        )
        self.counters["published"] += 1

    async def publish_persistent(self, event: Event, *, timeout: float = 2.0) -> api.PubAck:
        """Publish through JetStream and wait for the stream's acknowledgement."""
        ack = await self.js.publish(
            subjects.subject_for(event),
            encode(event),
            timeout=timeout,
            headers={MSG_ID_HEADER: event.event_id},
        )
        self.counters["published"] += 1
        return ack

    def emit(self, event: Event) -> bool:
        """Queue an event for persistent publishing without waiting; False if the outbox is full.

        Workers retry across NATS outages until the stream acknowledges, so a short gap loses
        nothing; what could not be queued is counted as `outbox_dropped`.
        """
        try:
            self._outbox.put_nowait(event)
        except asyncio.QueueFull:
            self.counters["outbox_dropped"] += 1
            log.error("outbox full, dropped %s %s", type(event).__name__, event.event_id)
            return False
        return True

    @property
    def outbox_pending(self) -> int:
        """Events queued and not yet acknowledged by JetStream."""
        return self._outbox.qsize()

    async def flush_outbox(self, timeout: float = 10.0) -> bool:
        """Wait until every queued event is acknowledged; False on timeout."""
        try:
            await asyncio.wait_for(self._outbox.join(), timeout)
        except TimeoutError:
            return False
        return True

    def start_outbox(self, workers: int = OUTBOX_WORKERS) -> None:
        """Start the tasks that drain the outbox (idempotent)."""
        if not self._outbox_workers:
            self._outbox_workers = [
                asyncio.create_task(self._drain_outbox(), name=f"outbox-{index}")
                for index in range(workers)
            ]

    async def _drain_outbox(self) -> None:
        while True:
            event = await self._outbox.get()
            backoff_seconds = 0.05
            try:
                while True:
                    try:
                        await self.publish_persistent(event)
                        break
                    except (nats.errors.Error, TimeoutError) as error:
                        self.counters["publish_retries"] += 1
                        log.debug("retrying publish of %s: %r", event.event_id, error)
                        await asyncio.sleep(backoff_seconds)
                        backoff_seconds = min(backoff_seconds * 2, 1.0)
            finally:
                self._outbox.task_done()

    # Subscribing ------------------------------------------------------------------------

    async def dead_letter(self, msg: Msg, reason: str) -> None:
        """Count a message that could not be used and republish it on the dead-letter subject."""
        self.counters["invalid_messages"] += 1
        log.warning("dead-lettering message on %s: %s", msg.subject, reason[:200])
        headers = {
            ORIGINAL_SUBJECT_HEADER: msg.subject,
            ERROR_HEADER: " ".join(reason.split())[:MAX_ERROR_HEADER_CHARS],
        }
        data = msg.data
        # The server counts headers in max_payload (nats-py checks only the data) and a
        # violation closes the connection for good: cut what would not fit, and say so.
        if len(data) + _header_bytes(headers) > self.nc.max_payload:
            headers[TRUNCATED_HEADER] = str(len(data))
            data = data[: max(0, self.nc.max_payload - _header_bytes(headers))]
        try:
            await self.nc.publish(subjects.deadletter_subject(self.service), data, headers=headers)
            self.counters["dead_lettered"] += 1
        except nats.errors.Error as error:
            log.error("could not dead-letter a message: %r", error)

    def parse(self, msg: Msg, model: type[ModelT] | None = None) -> ModelT | None:
        """Validate a message against `model` (or its subject's model); None if it has none."""
        target = model or _model_for_subject(msg.subject)
        if target is None:
            return None
        return target.model_validate_json(msg.data)  # type: ignore[return-value]

    async def subscribe(
        self, subject: str, handler: EventHandler, *, queue: str = ""
    ) -> Subscription:
        """Core subscription; the handler gets validated models only.

        Messages on subjects without a model (replies, queries) are skipped; invalid ones
        are dead-lettered; a handler that raises is logged and counted, never fatal.
        """

        async def callback(msg: Msg) -> None:
            try:
                event = self.parse(msg)
            except ValidationError as error:
                await self.dead_letter(msg, str(error))
                return
            if event is None:
                return
            try:
                await handler(event, msg)
            except Exception:
                self.counters["handler_errors"] += 1
                log.exception("handler failed on %s", msg.subject)

        return await self.nc.subscribe(subject, queue=queue, cb=callback)

    async def consume_durable(
        self,
        durable: str,
        handler: EventHandler,
        *,
        filter_subject: str = subjects.EVERYTHING,
        stream: str = subjects.STREAM_EVENTS,
        max_ack_pending: int = 20_000,
        ack_wait_seconds: float = 30.0,
        on_dead_lettered: DeadLetteredHandler | None = None,
        start_sequence: int | None = None,
    ) -> JetStreamContext.PushSubscription:
        """Durable push consumer with manual acks; messages reach callbacks in delivery order.

        The handler must ack (after its work is safely done); invalid messages are counted
        and dead-lettered here so they never block the consumer.

        Without `on_dead_lettered` the consumer acks each message on its own
        (AckPolicy.EXPLICIT) and invalid messages are acked here. With it, a consumer
        created by this call acks cumulatively (AckPolicy.ALL: acking a message acks every
        earlier one), so acking an invalid message here could ack valid ones not yet stored:
        instead it is passed, once dead-lettered, to `on_dead_lettered`, which settles it in
        delivery order with the rest. `start_sequence` starts a newly created consumer at
        that stream sequence (an existing durable is bound as it is).
        """

        async def callback(msg: Msg) -> None:
            try:
                event = self.parse(msg)
            except ValidationError as error:
                await self._settle_invalid(msg, str(error), on_dead_lettered)
                return
            if event is None:
                await self._settle_invalid(msg, "no model for subject", on_dead_lettered)
                return
            await handler(event, msg)

        config = api.ConsumerConfig(
            ack_policy=api.AckPolicy.EXPLICIT if on_dead_lettered is None else api.AckPolicy.ALL,
            max_ack_pending=max_ack_pending,
            ack_wait=ack_wait_seconds,
            deliver_policy=api.DeliverPolicy.ALL,
        )
        if start_sequence is not None and start_sequence > 1:
            config.deliver_policy = api.DeliverPolicy.BY_START_SEQUENCE
            config.opt_start_seq = start_sequence
        return await self.js.subscribe(
            filter_subject,
            durable=durable,
            stream=stream,
            cb=callback,
            manual_ack=True,
            config=config,
            pending_msgs_limit=max_ack_pending * 2,
        )

    async def _settle_invalid(
        self, msg: Msg, reason: str, on_dead_lettered: DeadLetteredHandler | None
    ) -> None:
        await self.dead_letter(msg, reason)
        if on_dead_lettered is None:
            await msg.ack()
        else:
            await on_dead_lettered(msg)

    # Request / reply --------------------------------------------------------------------

    async def request(self, subject: str, request: BaseModel, *, timeout: float = 5.0) -> Any:
        """Send a typed request and return the typed reply.

        Raises ServiceUnavailableError when nobody answers in time and QueryFailedError when
        the service answers with an error.
        """
        route = subjects.QUERY_ROUTES[subject]
        try:
            msg = await self.nc.request(subject, encode(request), timeout=timeout)
        except nats.errors.NoRespondersError as error:
            raise ServiceUnavailableError(subject, "no responders") from error
        except (nats.errors.TimeoutError, TimeoutError) as error:
            raise ServiceUnavailableError(subject, f"timed out after {timeout}s") from error
        if msg.headers and msg.headers.get(ERROR_HEADER):
            raise QueryFailedError(QueryError.model_validate_json(msg.data))
        return route.reply.model_validate_json(msg.data)

    async def serve(self, subject: str, handler: QueryHandler, *, queue: str = "") -> Subscription:
        """Answer typed requests on `subject`; bad requests get a QueryError reply."""
        route = subjects.QUERY_ROUTES[subject]

        async def callback(msg: Msg) -> None:
            try:
                request = route.request.model_validate_json(msg.data)
            except ValidationError as error:
                await self.dead_letter(msg, str(error))
                await self._reply_error(msg, QueryError(error=_brief(error), status_code=400))
                return
            try:
                reply = await handler(request)
            except QueryFailedError as error:
                await self._reply_error(msg, error.error)
                return
            except Exception as error:
                self.counters["handler_errors"] += 1
                log.exception("query handler failed on %s", subject)
                await self._reply_error(msg, QueryError(error=repr(error), status_code=500))
                return
            if msg.reply:
                await self.nc.publish(msg.reply, encode(reply))

        return await self.nc.subscribe(subject, queue=queue or f"ollamon-{subject}", cb=callback)

    async def _reply_error(self, msg: Msg, error: QueryError) -> None:
        if msg.reply:
            await self.nc.publish(msg.reply, encode(error), headers={ERROR_HEADER: "1"})

    # Setup and shutdown -----------------------------------------------------------------

    async def ensure_streams(
        self, *, max_age_seconds: float = 30 * 86400, update_existing: bool = False
    ) -> None:
        """Create the event stream and the dead-letter stream (file storage) if missing.

        Any service may call this at start so early publishes are kept; only storage, which
        owns retention, passes `update_existing=True` to apply its max age to a live stream.
        """
        for name, stream_subjects in (
            (subjects.STREAM_EVENTS, subjects.STREAM_EVENTS_SUBJECTS),
            (subjects.STREAM_DEADLETTER, subjects.STREAM_DEADLETTER_SUBJECTS),
        ):
            config = api.StreamConfig(
                name=name,
                subjects=stream_subjects,
                storage=api.StorageType.FILE,
                max_age=max_age_seconds,
                duplicate_window=120.0,
            )
            try:
                await self.js.add_stream(config)
            except nats.js.errors.BadRequestError:
                if update_existing:
                    await self.js.update_stream(config)

    async def close(self, *, flush_timeout: float = 5.0) -> None:
        """Flush the outbox (reporting what could not be sent), then drain the connection."""
        self.closing = True
        flushed = True
        if self._outbox_workers and not self.nc.is_closed:
            flushed = await self.flush_outbox(flush_timeout)
        if not flushed:
            self.counters["publish_unsent"] += self._outbox.qsize()
            log.error("%d events could not be sent before shutdown", self._outbox.qsize())
        for task in self._outbox_workers:
            task.cancel()
        await asyncio.gather(*self._outbox_workers, return_exceptions=True)
        self._outbox_workers = []
        if not self.nc.is_closed:
            try:
                await self.nc.drain()
            except nats.errors.Error:
                await self.nc.close()


# Subjects are few (one per model token), and matching every pattern per message showed up
# in ingest profiles.
_model_for_subject = functools.lru_cache(maxsize=4096)(subjects.model_for_subject)


def _header_bytes(headers: dict[str, str]) -> int:
    """Size of a NATS header block (`NATS/1.0`, one line per header, a blank line)."""
    return len(b"NATS/1.0\r\n\r\n") + sum(
        len(name.encode()) + len(value.encode()) + 4 for name, value in headers.items()
    )


def _brief(error: ValidationError) -> str:
    parts = [
        f"{'.'.join(str(loc) for loc in item['loc']) or 'body'}: {item['msg']}"
        for item in error.errors()[:5]
    ]
    return "; ".join(parts)
