"""Storage keeps the notifier's delivery log and answers it in `/alerts`: newest first,
bounded, by the alert's host, secrets redacted; schema version 5 adds its table."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path

from ollamon_core import subjects
from ollamon_core.events import (
    AlertState,
    DeliveryOutcome,
    NotificationDelivery,
    ReceiverKind,
    ServiceName,
    utc_now,
)
from ollamon_core.events import queries as q
from ollamon_storage import schema
from ollamon_storage.schema import MIGRATIONS, migrate, migrate_file
from ollamon_storage.settings import StorageSettings
from tests.conftest import BusFactory
from tests.services.storage import factories
from tests.support.waiting import wait_for_async


def delivery(index: int, **overrides: object) -> NotificationDelivery:
    values: dict[str, object] = {
        "host": "box-1",
        "timestamp": utc_now() - timedelta(minutes=10 - index),
        "receiver": "ops",
        "receiver_kind": ReceiverKind.WEBHOOK,
        "fingerprint": "fp-slow",
        "alert_type": "slow_response",
        "alert_state": AlertState.FIRING,
        "attempt": index + 1,
        "outcome": DeliveryOutcome.RETRYING,
        "status_code": 503,
        "error": "HTTP 503: busy",
        "latency_ms": 12.5,
    } | overrides
    return NotificationDelivery.model_validate(values)


async def test_deliveries_are_answered_newest_first_bounded_and_by_host(
    running_storage: StorageSettings, bus_factory: BusFactory
) -> None:
    bus = await bus_factory(ServiceName.NOTIFIER)
    events = [delivery(index) for index in range(4)]
    events.append(delivery(4, outcome=DeliveryOutcome.DELIVERED, status_code=200, error=None))
    other_host = delivery(5, host="box-2", receiver="mail", receiver_kind=ReceiverKind.EMAIL)
    await bus.publish_persistent(factories.alert())  # the alert's host, box-1, is known
    for event in [*reversed(events), other_host]:  # stored out of order
        await bus.publish_persistent(event)

    async def logged() -> q.AlertsReply | None:
        reply = await bus.request(subjects.QUERY_ALERTS, q.AlertsQuery(delivery_limit=3))
        return reply if len(reply.deliveries) == 3 and reply.deliveries[0] == other_host else None

    reply = await wait_for_async(logged, timeout=15, message="the delivery log")
    assert isinstance(reply, q.AlertsReply)
    assert [event.attempt for event in reply.deliveries[1:]] == [5, 4]
    assert reply.deliveries[1].outcome is DeliveryOutcome.DELIVERED
    box_1 = await bus.request(subjects.QUERY_ALERTS, q.AlertsQuery(host="box-1"))
    assert box_1.deliveries == list(reversed(events))
    none = await bus.request(subjects.QUERY_ALERTS, q.AlertsQuery(delivery_limit=0))
    assert none.deliveries == []


async def test_a_secret_in_a_delivery_error_is_never_stored(
    running_storage: StorageSettings, bus_factory: BusFactory
) -> None:
    bus = await bus_factory(ServiceName.NOTIFIER)
    leaky = delivery(
        0,
        outcome=DeliveryOutcome.FAILED,
        error="ConnectError: https://ops:hunter2@hooks.example/x?token=abc refused",
    )
    assert leaky.error == "ConnectError: https://hooks.example/x?token=REDACTED refused"
    await bus.publish_persistent(leaky)

    async def logged() -> q.AlertsReply | None:
        reply = await bus.request(subjects.QUERY_ALERTS, q.AlertsQuery())
        return reply if reply.deliveries else None

    reply = await wait_for_async(logged, timeout=15, message="the delivery")
    assert isinstance(reply, q.AlertsReply)
    assert "hunter2" not in reply.model_dump_json()
    assert "abc" not in (reply.deliveries[0].error or "")


def test_a_version_4_database_gains_the_delivery_log(tmp_path: Path) -> None:
    path = tmp_path / "v4.db"
    conn = schema.open_database(path)
    migrate(conn, MIGRATIONS[:4])
    conn.close()

    assert migrate_file(path)[0] == 5  # then any later ones
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("SELECT COUNT(*) FROM notification_deliveries").fetchone()[0] == 0
    finally:
        conn.close()
