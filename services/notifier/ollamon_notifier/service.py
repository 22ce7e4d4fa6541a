"""The notifier service: alerts from the stream, delivered to the configured receivers.

`running_notifier` reads top to bottom: read the routing (a bad file stops the start with
one clear line), connect, open the sender, start one worker per receiver, consume the
alerts through the durable consumer `ollamon-notifier`, repeat what still fires, beat.
Why its own service rather than a part of alerting: docs/decisions/0010-notifier-service.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import nats.errors
import nats.js.errors
from nats.js import JetStreamContext

from ollamon_core import subjects
from ollamon_core.bus import AckMode, Bus, QueryFailedError, ServiceUnavailableError
from ollamon_core.events import ServiceName
from ollamon_core.events.queries import AlertsQuery
from ollamon_core.runtime import service_runtime
from ollamon_notifier.backoff import RetryPolicy
from ollamon_notifier.delivery import Dispatcher
from ollamon_notifier.groups import GroupBook
from ollamon_notifier.receivers import Sender
from ollamon_notifier.routing import Routing, RoutingError, read_routing
from ollamon_notifier.settings import NotifierSettings

log = logging.getLogger(__name__)
# httpx logs every request with its URL at INFO; a receiver's URL may hold its secret in
# the path (a Slack webhook), which no redaction of URLs can tell apart.
logging.getLogger("httpx").setLevel(logging.WARNING)

# Unsettled alerts the server lets the notifier hold (a receiver down for long piles them).
MAX_ACK_PENDING = 10_000
ACK_WAIT_SECONDS = 30.0
CREATE_ATTEMPTS = 20
CREATE_RETRY_SECONDS = 0.5


async def settings_routing(settings: NotifierSettings) -> Routing:
    """The routing of the settings: the env webhooks and the routing file.

    Raises:
        RoutingError: the file cannot be read or used (logged as one line first).
    """
    try:
        return await asyncio.to_thread(
            read_routing, settings.webhook_urls, settings.webhook_secret, settings.routes_file
        )
    except RoutingError as error:
        log.critical("cannot start: %s", error)
        raise


@contextlib.asynccontextmanager
async def running_notifier(settings: NotifierSettings) -> AsyncIterator[Dispatcher]:
    """Run the notifier until the block ends; what is not yet delivered stays unacked."""
    routing = await settings_routing(settings)
    async with service_runtime(ServiceName.NOTIFIER, settings) as runtime:
        sender = await Sender.open(
            routing.receivers,
            timeout_seconds=settings.timeout_seconds,
            alertmanager_resend_seconds=settings.alertmanager_resend_seconds,
        )
        runtime.on_close(sender.aclose)
        book = GroupBook(
            routing,
            repeat_interval_seconds=settings.repeat_interval_seconds,
            alertmanager_resend_seconds=settings.alertmanager_resend_seconds,
        )
        policy = RetryPolicy(
            settings.retry_initial_seconds, settings.retry_max_seconds, settings.give_up_seconds
        )
        dispatcher = Dispatcher(book, sender, runtime.bus, policy)
        await take_up_firing(runtime.bus, dispatcher, settings.nats_request_timeout_seconds)
        for receiver in routing.receivers:
            runtime.start_task(dispatcher.worker(receiver.name), name=f"deliver-{receiver.name}")
            log.info(
                "receiver %s (%s): %s", receiver.name, receiver.kind.value, receiver.public_url
            )
        if not routing.receivers:
            log.warning(
                "no receivers: set OLLAMON_ALERT_WEBHOOK_URLS or OLLAMON_NOTIFIER_ROUTES_FILE; "
                "alerts are read and acked without notifying anyone"
            )
        subscription = await consume_alerts(runtime.bus, dispatcher)
        runtime.unsubscribe_at_close(subscription)
        runtime.start_task(dispatcher.repeat_loop(), name="repeat-firing")
        runtime.start_task(dispatcher.in_progress_loop(), name="in-progress")
        runtime.start_heartbeat()
        log.info(
            "notifier ready on %s with %d receivers", settings.nats_url, len(routing.receivers)
        )
        yield dispatcher


async def take_up_firing(bus: Bus, dispatcher: Dispatcher, timeout_seconds: float) -> int:
    """Seed the groups with the alerts firing now, from storage, so their repeats go on
    across a restart; returns how many groups. Without storage, they wait for alerting's
    own repeat (logged)."""
    query = AlertsQuery(limit=1, audit_limit=0, delivery_limit=0)
    try:
        reply = await bus.request(subjects.QUERY_ALERTS, query, timeout=timeout_seconds)
    except (ServiceUnavailableError, QueryFailedError) as error:
        log.warning(
            "firing alerts not taken up from storage (%s): their repeats resume when "
            "alerting publishes them again",
            error,
        )
        return 0
    groups = dispatcher.book.seed(reply.active, dispatcher.monotonic())
    dispatcher.counters["alerts_taken_up"] = len(reply.active)
    log.info("took up %d firing alerts from storage (%d groups)", len(reply.active), groups)
    return groups


async def consume_alerts(bus: Bus, dispatcher: Dispatcher) -> JetStreamContext.PushSubscription:
    """Bind the durable consumer of the alerts (retrying a while if the stream is not there).

    A durable that exists is created again right after its ack floor, so what a stopped
    notifier left unsettled comes at once; a new one starts after the stream's last
    message, so a first start does not notify the whole history.
    """
    for attempt in range(CREATE_ATTEMPTS):
        try:
            start = await _start_sequence(bus)
            return await bus.consume_durable(
                subjects.NOTIFIER_DURABLE,
                dispatcher.on_alert,
                ack=AckMode.EXPLICIT,
                filter_subject=subjects.ALERTS_ALL,
                max_ack_pending=MAX_ACK_PENDING,
                ack_wait_seconds=ACK_WAIT_SECONDS,
                start_sequence=start,
            )
        except (nats.errors.Error, TimeoutError) as error:
            if attempt == CREATE_ATTEMPTS - 1:
                raise
            log.warning("durable consumer not created yet (%r); retrying", error)
            await asyncio.sleep(CREATE_RETRY_SECONDS)
    raise AssertionError("unreachable")


async def _start_sequence(bus: Bus) -> int:
    js = bus.js
    try:
        info = await js.consumer_info(subjects.STREAM_EVENTS, subjects.NOTIFIER_DURABLE)
    except nats.js.errors.NotFoundError:
        stream = await js.stream_info(subjects.STREAM_EVENTS)
        return stream.state.last_seq + 1
    floor = (info.ack_floor.stream_seq or 0) if info.ack_floor else 0
    with contextlib.suppress(nats.js.errors.NotFoundError):
        await js.delete_consumer(subjects.STREAM_EVENTS, subjects.NOTIFIER_DURABLE)
    return floor + 1
