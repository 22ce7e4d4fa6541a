"""What became of a notification: one event per settled attempt (published by the notifier)."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from ollamon_core.events.alerts import AlertState
from ollamon_core.events.base import Event
from ollamon_core.redaction import PublicText

MAX_RECEIVER_CHARS = 64
MAX_DELIVERY_ERROR_CHARS = 500


class DeliveryOutcome(StrEnum):
    """How one attempt to notify a receiver ended.

    `delivered`: the receiver took it. `retrying`: the attempt failed and another follows
    after a backoff. `failed`: the receiver refused it for good (a 4xx other than 408/429, a
    rejected address): not retried, dead-lettered. `dead_lettered`: attempts kept failing
    until the give-up time: dead-lettered.
    """

    DELIVERED = "delivered"
    RETRYING = "retrying"
    FAILED = "failed"
    DEAD_LETTERED = "dead_lettered"


class ReceiverKind(StrEnum):
    """What a receiver speaks."""

    WEBHOOK = "webhook"  # Alertmanager's webhook payload (version 4)
    ALERTMANAGER = "alertmanager"  # push to an Alertmanager's `POST /api/v2/alerts`
    SLACK = "slack"  # Slack-compatible incoming webhook
    NTFY = "ntfy"
    EMAIL = "email"  # SMTP (STARTTLS)


class NotificationDelivery(Event):
    """One attempt to notify a receiver about an alert (or a group of them), settled.

    `fingerprint` is the alert the notification was sent for (a grouped notification
    carries the others too: `alert_count`); `attempt` counts from 1 for that notification.
    `error` is redacted (no URL userinfo or secret parameters); `status_code` is the HTTP
    status (or the SMTP reply code) when the receiver answered.
    """

    kind: str = Field(default="notification_delivery", pattern="^notification_delivery$")
    receiver: str = Field(min_length=1, max_length=MAX_RECEIVER_CHARS)
    receiver_kind: ReceiverKind
    fingerprint: str
    alert_type: str
    alert_state: AlertState
    group_key: str = ""
    alert_count: int = Field(default=1, ge=1)
    repeat: bool = False
    attempt: int = Field(ge=1)
    outcome: DeliveryOutcome
    status_code: int | None = None
    error: PublicText | None = Field(default=None, max_length=MAX_DELIVERY_ERROR_CHARS)
    latency_ms: float = Field(ge=0)
