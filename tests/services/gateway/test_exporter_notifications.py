"""`ollamon_notifications_total{receiver,outcome}` counts the notifier's delivery outcomes."""

from __future__ import annotations

from ollamon_core.events import AlertState, DeliveryOutcome, NotificationDelivery, ReceiverKind
from ollamon_gateway.exporter import MetricsExporter


def outcome(receiver: str, result: DeliveryOutcome, attempt: int = 1) -> NotificationDelivery:
    return NotificationDelivery(
        host="box-1",
        receiver=receiver,
        receiver_kind=ReceiverKind.WEBHOOK,
        fingerprint="fp",
        alert_type="slow_response",
        alert_state=AlertState.FIRING,
        attempt=attempt,
        outcome=result,
        latency_ms=3.0,
    )


def test_each_delivery_outcome_is_counted_by_receiver_and_outcome() -> None:
    exporter = MetricsExporter()
    for event in (
        outcome("ops", DeliveryOutcome.RETRYING, 1),
        outcome("ops", DeliveryOutcome.RETRYING, 2),
        outcome("ops", DeliveryOutcome.DELIVERED, 3),
        outcome("mail", DeliveryOutcome.DEAD_LETTERED, 9),
    ):
        exporter.observe(event)
    text = exporter.render(sse_clients=0, sse_dropped=0).decode()
    assert 'ollamon_notifications_total{outcome="retrying",receiver="ops"} 2.0' in text
    assert 'ollamon_notifications_total{outcome="delivered",receiver="ops"} 1.0' in text
    assert 'ollamon_notifications_total{outcome="dead_lettered",receiver="mail"} 1.0' in text
