"""Delivering notifications with retries, and acking each alert once it is settled.

An alert message from the durable consumer becomes one delivery per receiver it goes to
(`GroupBook`). Each receiver has its own queue and worker, so a slow or failing receiver
delays only itself, and its notifications go out in the order their alerts came. A
delivery is tried until the receiver takes it, it refuses it for good, or the give-up
time has passed since the alert came in; each attempt's outcome is published as a
`NotificationDelivery`, and one given up is dead-lettered on `ollamon.deadletter.notifier`.

The alert message is acked only when every delivery it made is settled (delivered or
dead-lettered): at least once. While deliveries are still being tried, the message is
marked in progress every `IN_PROGRESS_SECONDS` so the server does not send it again; if
the notifier stops first, the server delivers it again and it is notified again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import nats.errors
from nats.aio.msg import Msg

from ollamon_core import subjects
from ollamon_core.bus import Bus
from ollamon_core.bus.wire import ERROR_HEADER, ORIGINAL_SUBJECT_HEADER, encode
from ollamon_core.events import (
    DeliveryOutcome,
    NotificationDelivery,
    OllamaPerformanceAlert,
    ServiceName,
)
from ollamon_notifier.backoff import RetryPolicy
from ollamon_notifier.groups import GroupBook, Planned
from ollamon_notifier.receivers import AttemptResult, Sender
from ollamon_notifier.routing import alert_fingerprint

log = logging.getLogger(__name__)

RECEIVER_HEADER = "Ollamon-Receiver"
IN_PROGRESS_SECONDS = 10.0
REPEAT_CHECK_SECONDS = 1.0
MAX_ERROR_HEADER_CHARS = 512


@dataclass
class Settlement:
    """An alert message waiting for its deliveries; acked when the last one settles."""

    msg: Msg | None
    remaining: int


@dataclass
class Delivery:
    """One notification on its way to one receiver."""

    planned: Planned
    received_at: float
    settlement: Settlement | None
    attempts: int = 0
    ident: tuple[str, str] = field(init=False)

    def __post_init__(self) -> None:
        self.ident = (self.planned.receiver.name, self.planned.notification.group_key)


class Dispatcher:
    """Queues, workers and acks over a `GroupBook` and a `Sender`."""

    def __init__(
        self,
        book: GroupBook,
        sender: Sender,
        bus: Bus,
        policy: RetryPolicy,
        *,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.book = book
        self.sender = sender
        self.bus = bus
        self.policy = policy
        self.monotonic = monotonic
        self.queues: dict[str, asyncio.Queue[Delivery]] = {
            receiver.name: asyncio.Queue() for receiver in book.routing.receivers
        }
        self.busy: Counter[tuple[str, str]] = Counter()
        self.unsettled: dict[int, Settlement] = {}
        self.counters = bus.counters

    # Input -----------------------------------------------------------------------------

    async def on_alert(self, alert: OllamaPerformanceAlert, msg: Msg | None) -> None:
        """Handle one alert from the durable consumer: plan, queue, ack when settled."""
        self.counters["alerts_received"] += 1
        now = self.monotonic()
        planned = self.book.on_alert(alert, now)
        if not planned:
            await self._ack(msg)
            return
        settlement = Settlement(msg, len(planned))
        self.unsettled[id(settlement)] = settlement
        for plan in planned:
            self._queue(Delivery(plan, now, settlement))
        self._gauges()

    def queue_repeats(self) -> int:
        """Queue the repeat notifications that are due; returns how many."""
        now = self.monotonic()
        planned = self.book.due_repeats(now, busy=+self.busy)
        for plan in planned:
            self.counters["notifications_repeated"] += 1
            self._queue(Delivery(plan, now, None))
        return len(planned)

    def _queue(self, delivery: Delivery) -> None:
        self.busy[delivery.ident] += 1
        self.queues[delivery.planned.receiver.name].put_nowait(delivery)

    # Loops -----------------------------------------------------------------------------

    async def worker(self, receiver: str) -> None:
        """Deliver `receiver`'s notifications one after the other, for ever."""
        queue = self.queues[receiver]
        while True:
            delivery = await queue.get()
            try:
                await self.deliver(delivery)
            finally:
                self.busy[delivery.ident] -= 1
                if self.busy[delivery.ident] <= 0:
                    del self.busy[delivery.ident]
            await self._settle(delivery.settlement)

    async def repeat_loop(self) -> None:
        """Queue due repeats of still-firing groups, every `REPEAT_CHECK_SECONDS`."""
        while True:
            await asyncio.sleep(REPEAT_CHECK_SECONDS)
            self.queue_repeats()

    async def in_progress_loop(self) -> None:
        """Tell the server that unsettled alert messages are still being worked on."""
        while True:
            await asyncio.sleep(IN_PROGRESS_SECONDS)
            for settlement in list(self.unsettled.values()):
                if settlement.msg is not None:
                    with contextlib.suppress(nats.errors.Error):
                        await settlement.msg.in_progress()

    # One delivery ----------------------------------------------------------------------

    async def deliver(self, delivery: Delivery) -> DeliveryOutcome:
        """Try until delivered, refused for good, or past the give-up; returns the outcome."""
        receiver = delivery.planned.receiver
        while True:
            delivery.attempts += 1
            result = await self.sender.send(receiver, delivery.planned.notification)
            outcome, delay = self._judge(delivery, result)
            self._publish(delivery, result, outcome)
            if outcome is DeliveryOutcome.DELIVERED:
                return outcome
            if delay is None:
                await self._dead_letter(delivery, outcome, result)
                return outcome
            await asyncio.sleep(delay)

    def _judge(
        self, delivery: Delivery, result: AttemptResult
    ) -> tuple[DeliveryOutcome, float | None]:
        if result.ok:
            return DeliveryOutcome.DELIVERED, None
        if result.permanent:
            return DeliveryOutcome.FAILED, None
        elapsed = self.monotonic() - delivery.received_at
        delay = self.policy.next_delay(delivery.attempts, elapsed)
        if delay is None:
            return DeliveryOutcome.DEAD_LETTERED, None
        return DeliveryOutcome.RETRYING, delay

    def _publish(self, delivery: Delivery, result: AttemptResult, outcome: DeliveryOutcome) -> None:
        notification = delivery.planned.notification
        trigger = notification.trigger
        self.counters[f"notifications_{outcome.value}"] += 1
        event = NotificationDelivery(
            host=trigger.host,
            receiver=notification.receiver,
            receiver_kind=delivery.planned.receiver.kind,
            fingerprint=alert_fingerprint(trigger),
            alert_type=trigger.alert_type,
            alert_state=trigger.state,
            group_key=notification.group_key,
            alert_count=len(notification.alerts),
            repeat=notification.repeat,
            attempt=delivery.attempts,
            outcome=outcome,
            status_code=result.status_code,
            error=result.error,
            latency_ms=result.latency_ms,
        )
        if outcome is not DeliveryOutcome.DELIVERED:
            log.warning(
                "notification to %s (%s) attempt %d: %s: %s",
                notification.receiver,
                trigger.alert_type,
                delivery.attempts,
                outcome.value,
                result.error,
            )
        if not self.bus.emit(event):
            self.counters["delivery_events_dropped"] += 1

    async def _dead_letter(
        self, delivery: Delivery, outcome: DeliveryOutcome, result: AttemptResult
    ) -> None:
        trigger = delivery.planned.notification.trigger
        reason = (
            f"{outcome.value}: receiver {delivery.planned.receiver.name} after "
            f"{delivery.attempts} attempts: {result.error}"
        )
        headers = {
            ORIGINAL_SUBJECT_HEADER: subjects.alerts_subject(trigger.severity),
            ERROR_HEADER: " ".join(reason.split())[:MAX_ERROR_HEADER_CHARS],
            RECEIVER_HEADER: delivery.planned.receiver.name,
        }
        try:
            await self.bus.nc.publish(
                subjects.deadletter_subject(ServiceName.NOTIFIER), encode(trigger), headers=headers
            )
            self.counters["dead_lettered"] += 1
        except nats.errors.Error as error:
            log.error("could not dead-letter a notification: %r", error)

    # Acks ------------------------------------------------------------------------------

    async def _settle(self, settlement: Settlement | None) -> None:
        if settlement is None:
            return
        settlement.remaining -= 1
        if settlement.remaining > 0:
            return
        self.unsettled.pop(id(settlement), None)
        await self._ack(settlement.msg)
        self._gauges()

    async def _ack(self, msg: Msg | None) -> None:
        if msg is None:
            return
        try:
            await msg.ack()
            self.counters["alerts_acked"] += 1
        except nats.errors.Error as error:
            # The server sends it again after the ack wait: notified again, never lost.
            self.counters["ack_failures"] += 1
            log.warning("could not ack an alert: %r", error)

    def _gauges(self) -> None:
        self.counters["alerts_unsettled"] = len(self.unsettled)
        self.counters["alerts_firing_held"] = self.book.firing_count()
