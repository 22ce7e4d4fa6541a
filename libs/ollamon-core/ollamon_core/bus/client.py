"""`Bus`: one service's connection to NATS, with each job done by its own module."""

from __future__ import annotations

import contextlib
import logging
from collections import Counter
from collections.abc import Callable
from typing import Any, TypeVar

import nats.errors
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.js import JetStreamContext, api
from pydantic import BaseModel

from ollamon_core import subjects
from ollamon_core.bus import consumers, requests, streams, subscriptions
from ollamon_core.bus.connection import ConnectionEvents, NatsLogin, open_connection
from ollamon_core.bus.consumers import AckMode
from ollamon_core.bus.dead_letters import DeadLetters
from ollamon_core.bus.outbox import OUTBOX_SIZE, PERSIST_TIMEOUT_SECONDS, Outbox, Publisher
from ollamon_core.bus.requests import QueryHandler
from ollamon_core.bus.spool import Spool, SpoolConfig
from ollamon_core.bus.subscriptions import EventHandler
from ollamon_core.bus.wire import parse
from ollamon_core.events import Event, ServiceName
from ollamon_core.subjects import QueryRoute

log = logging.getLogger(__name__)

RequestT = TypeVar("RequestT", bound=BaseModel)
ReplyT = TypeVar("ReplyT", bound=BaseModel)


class Bus:
    """One service's connection to NATS: publish, subscribe, consume, request, serve.

    `nc`, `js` and `counters` are public: the counters go out in heartbeats.
    """

    def __init__(
        self,
        nc: NatsClient,
        service: ServiceName,
        *,
        outbox_size: int = OUTBOX_SIZE,
        connection: ConnectionEvents | None = None,
        spool: Spool | None = None,
        outbox_linger_seconds: float = 0.0,
    ) -> None:
        self.nc = nc
        self.js: JetStreamContext = nc.jetstream()
        self.service = ServiceName(service)
        self.connection = connection or ConnectionEvents()
        self.counters: Counter[str] = self.connection.counters
        self._publisher = Publisher(nc, self.js, self.counters)
        self._outbox = Outbox(
            self._publisher.publish_persistent,
            self.counters,
            size=outbox_size,
            spool=spool,
            publish_spooled=self._publisher.publish_spooled,
            connected=lambda: nc.is_connected,
            linger_seconds=outbox_linger_seconds,
        )
        self._dead_letters = DeadLetters(nc, self.service, self.counters)

    @classmethod
    async def connect(
        cls,
        url: str,
        service: ServiceName,
        *,
        login: NatsLogin | None = None,
        spool: SpoolConfig | None = None,
        outbox_linger_seconds: float = 0.0,
        **options: Any,
    ) -> Bus:
        """Connect (as `login` says, else without credentials), reconnecting forever, and
        start the JetStream outbox; given `spool` (and a bound above 0), what NATS does not
        acknowledge waits on disk there, and what a previous process left is replayed.
        Given `outbox_linger_seconds`, the outbox gathers what is emitted within that long
        into one batch of publishes (`Outbox`: fewer wake-ups and writes per event, each up
        to that much later)."""
        connection = ConnectionEvents()
        opened = None
        if spool is not None and spool.max_bytes > 0:
            try:
                opened = await Spool.open(spool, connection.counters)
            except OSError as error:  # a folder it may not write: never a service that stops
                connection.counters["spool_errors"] += 1
                log.error(
                    "no disk spool at %s (%s); events wait in memory only (set "
                    "OLLAMON_SPOOL_PATH to a folder this service may write)",
                    spool.folder,
                    error,
                )
        try:
            nc = await open_connection(
                url, ServiceName(service), connection, login=login, **options
            )
        except BaseException:
            if opened is not None:
                await opened.close()
            raise
        bus = cls(
            nc,
            service,
            connection=connection,
            spool=opened,
            outbox_linger_seconds=outbox_linger_seconds,
        )
        bus._outbox.start()
        return bus

    # Publishing (outbox.py) -------------------------------------------------------------

    async def publish(self, event: Event) -> None:
        """Publish on core NATS (live fan-out; stored if the subject is in the stream)."""
        await self._publisher.publish(event)

    async def publish_persistent(
        self, event: Event, *, timeout: float = PERSIST_TIMEOUT_SECONDS
    ) -> api.PubAck:
        """Publish through JetStream and wait for the stream's acknowledgement."""
        return await self._publisher.publish_persistent(event, timeout=timeout)

    def emit(self, event: Event) -> bool:
        """Queue an event for persistent publishing without waiting; False if the outbox is full.

        Workers retry across NATS outages until the stream acknowledges, so a short gap loses
        nothing; what could not be queued is counted as `outbox_dropped`.
        """
        return self._outbox.emit(event)

    @property
    def spool(self) -> Spool | None:
        """The disk spool, if this bus has one."""
        return self._outbox.spool

    def heartbeat_counters(self) -> dict[str, float]:
        """The counters as a heartbeat carries them, with the spool's oldest event's age."""
        counters = {name: float(value) for name, value in self.counters.items()}
        if self._outbox.spool is not None:
            counters["spool_oldest_age_seconds"] = round(self._outbox.spool.oldest_age_seconds(), 3)
        return counters

    @property
    def outbox_pending(self) -> int:
        """Events queued and not yet acknowledged by JetStream."""
        return self._outbox.pending

    async def flush_outbox(self, timeout: float = 10.0) -> bool:
        """Wait until every queued event is acknowledged; False on timeout."""
        return await self._outbox.flush(timeout)

    # Receiving (subscriptions.py, consumers.py; dead_letters.py for invalid messages) ----

    async def subscribe(
        self, subject: str, handler: EventHandler, *, queue: str = ""
    ) -> Subscription:
        """Core subscription; the handler gets validated models only (see subscriptions.py)."""
        return await subscriptions.subscribe(
            self.nc,
            subject,
            handler,
            dead_letters=self._dead_letters,
            counters=self.counters,
            queue=queue,
        )

    async def consume_durable(
        self,
        durable: str,
        handler: EventHandler,
        *,
        ack: AckMode,
        filter_subject: str = subjects.EVERYTHING,
        stream: str = subjects.STREAM_EVENTS,
        max_ack_pending: int = consumers.MAX_ACK_PENDING,
        ack_wait_seconds: float = consumers.ACK_WAIT_SECONDS,
        start_sequence: int | None = None,
        decode: Callable[[Msg], Any] = parse,
    ) -> JetStreamContext.PushSubscription:
        """Durable push consumer acked as `ack` says; invalid messages are dead-lettered and
        settled by the rule of that mode (see consumers.py); `decode` as there."""
        return await consumers.consume_durable(
            self.js,
            durable,
            handler,
            ack=ack,
            dead_letters=self._dead_letters,
            filter_subject=filter_subject,
            stream=stream,
            max_ack_pending=max_ack_pending,
            ack_wait_seconds=ack_wait_seconds,
            start_sequence=start_sequence,
            decode=decode,
        )

    # Request / reply (requests.py) ------------------------------------------------------

    async def request(
        self,
        route: QueryRoute[RequestT, ReplyT],
        query: RequestT,
        *,
        timeout: float = requests.REQUEST_TIMEOUT_SECONDS,
    ) -> ReplyT:
        """Send a typed request and return the typed reply.

        Raises ServiceUnavailableError when nobody answers in time and QueryFailedError when
        the service answers with an error.
        """
        return await requests.request(self.nc, route, query, timeout=timeout)

    async def serve(
        self,
        route: QueryRoute[RequestT, ReplyT],
        handler: QueryHandler[RequestT, ReplyT],
        *,
        queue: str = "",
    ) -> Subscription:
        """Answer typed requests on `route`; bad requests get a QueryError reply."""
        return await requests.serve(
            self.nc,
            route,
            handler,
            dead_letters=self._dead_letters,
            counters=self.counters,
            queue=queue,
        )

    # Setup and shutdown (streams.py) ----------------------------------------------------

    async def ensure_streams(
        self,
        *,
        max_age_seconds: float = streams.DEFAULT_MAX_AGE_SECONDS,
        update_existing: bool = False,
    ) -> None:
        """Create the event and dead-letter streams if missing (see streams.py)."""
        await streams.ensure_streams(
            self.js, max_age_seconds=max_age_seconds, update_existing=update_existing
        )

    async def close(self, *, flush_timeout: float = 5.0) -> None:
        """Flush the outbox (counting what could not be sent), then drain the connection."""
        self.connection.closing = True
        if self._outbox.started and not self.nc.is_closed:
            await self._outbox.flush(flush_timeout)
        await self._outbox.stop()
        if not self.nc.is_closed:
            try:
                await self.nc.drain()
            except nats.errors.Error:  # not connected (NATS away): nothing to drain
                with contextlib.suppress(OSError):  # the socket already gone
                    await self.nc.close()
