"""Fixtures of the notifier tests: a publisher of alerts (through the stream, as alerting
does) and a listener that keeps every `NotificationDelivery`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from nats.aio.msg import Msg

from ollamon_core import subjects
from ollamon_core.bus import Bus
from ollamon_core.events import NotificationDelivery, OllamaPerformanceAlert, ServiceName
from tests.conftest import BusFactory


@dataclass
class Deliveries:
    """Every delivery outcome published, in order."""

    events: list[NotificationDelivery] = field(default_factory=list)

    async def keep(self, event: NotificationDelivery, _msg: Msg) -> None:
        self.events.append(event)

    def outcomes(self, receiver: str | None = None) -> list[tuple[str, str, int]]:
        """(alert state, outcome, attempt) of each event (of one receiver)."""
        return [
            (event.alert_state.value, event.outcome.value, event.attempt)
            for event in self.events
            if receiver is None or event.receiver == receiver
        ]


@pytest.fixture
async def deliveries(bus_factory: BusFactory) -> AsyncIterator[Deliveries]:
    listener = await bus_factory(ServiceName.GATEWAY)
    kept = Deliveries()
    await listener.subscribe(subjects.NOTIFICATIONS_ALL, kept.keep)
    await listener.nc.flush()
    yield kept


class AlertPublisher:
    """Publishes alerts into the stream and waits for the stream's ack."""

    def __init__(self, bus: Bus) -> None:
        self.bus = bus

    async def __call__(self, *alerts: OllamaPerformanceAlert) -> None:
        for alert in alerts:
            await self.bus.publish_persistent(alert)


@pytest.fixture
async def publish(bus_factory: BusFactory) -> AlertPublisher:
    return AlertPublisher(await bus_factory(ServiceName.ALERTING))
