"""What each kind of receiver is sent, built from alerts (pure functions).

- Alertmanager's webhook payload, version 4 (the format Alertmanager itself sends to its
  webhook receivers), so tools that consume those work unchanged;
- Alertmanager's API v2 `postableAlerts` (what Prometheus posts to `/api/v2/alerts`);
- a Slack-compatible incoming-webhook message, an ntfy message, an email.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any

from ollamon_core.events import AlertState, OllamaPerformanceAlert, Severity
from ollamon_notifier.routing import alert_fingerprint, alert_labels

WEBHOOK_VERSION = "4"
# What Alertmanager's webhook puts in `endsAt` while an alert fires (Go's zero time).
ZERO_TIME = "0001-01-01T00:00:00Z"
# Prometheus sends firing alerts with endsAt this many resend intervals ahead, so that
# Alertmanager resolves them by itself if the sender goes away.
ALERTMANAGER_VALIDITY_FACTOR = 4
NTFY_PRIORITY = {
    Severity.LOW: "2",
    Severity.MEDIUM: "3",
    Severity.HIGH: "4",
    Severity.CRITICAL: "5",
}


@dataclass(frozen=True)
class Notification:
    """One message to one receiver: the alerts of a group at one moment.

    `trigger` is the alert whose arrival (or repeat) caused it; `alerts` holds the group's
    firing alerts and, when the trigger resolved, the trigger too.
    """

    receiver: str
    group_key: str
    group_labels: dict[str, str]
    trigger: OllamaPerformanceAlert
    alerts: tuple[OllamaPerformanceAlert, ...]
    repeat: bool = False

    @property
    def status(self) -> AlertState:
        """Firing while any alert of it fires, else resolved."""
        firing = any(alert.state is AlertState.FIRING for alert in self.alerts)
        return AlertState.FIRING if firing else AlertState.RESOLVED


def rfc3339(moment: datetime) -> str:
    """A timestamp as Alertmanager writes it (UTC, `Z`)."""
    return moment.isoformat().replace("+00:00", "Z")


def alert_annotations(alert: OllamaPerformanceAlert) -> dict[str, str]:
    """The alert's human-readable parts, as Alertmanager annotations (strings)."""
    values = {
        "summary": alert.message,
        "recommendation": alert.recommendation,
        "metric_value": None if alert.metric_value is None else f"{alert.metric_value:g}",
        "threshold": None if alert.threshold is None else f"{alert.threshold:g}",
    }
    return {name: value for name, value in values.items() if value}


def _starts_at(alert: OllamaPerformanceAlert) -> datetime:
    return alert.starts_at or alert.timestamp


def _ends_at(alert: OllamaPerformanceAlert) -> datetime:
    return alert.ends_at or alert.timestamp


def webhook_alert(alert: OllamaPerformanceAlert) -> dict[str, Any]:
    """One entry of the webhook payload's `alerts`."""
    firing = alert.state is AlertState.FIRING
    return {
        "status": alert.state.value,
        "labels": alert_labels(alert),
        "annotations": alert_annotations(alert),
        "startsAt": rfc3339(_starts_at(alert)),
        "endsAt": ZERO_TIME if firing else rfc3339(_ends_at(alert)),
        "generatorURL": "",
        "fingerprint": alert_fingerprint(alert),
    }


def _common(dicts: Sequence[dict[str, str]]) -> dict[str, str]:
    if not dicts:
        return {}
    first = dicts[0]
    return {key: value for key, value in first.items() if all(d.get(key) == value for d in dicts)}


def webhook_payload(notification: Notification, external_url: str = "") -> dict[str, Any]:
    """Alertmanager's webhook payload (version 4) for a notification."""
    alerts = [webhook_alert(alert) for alert in notification.alerts]
    return {
        "version": WEBHOOK_VERSION,
        "groupKey": notification.group_key,
        "truncatedAlerts": 0,
        "status": notification.status.value,
        "receiver": notification.receiver,
        "groupLabels": notification.group_labels,
        "commonLabels": _common([alert["labels"] for alert in alerts]),
        "commonAnnotations": _common([alert["annotations"] for alert in alerts]),
        "externalURL": external_url,
        "alerts": alerts,
    }


def alertmanager_alerts(
    notification: Notification, now: datetime, resend_seconds: float
) -> list[dict[str, Any]]:
    """Alertmanager's `postableAlerts` for `POST /api/v2/alerts`, as Prometheus sends them.

    A firing alert's endsAt lies four resend intervals ahead (Alertmanager resolves it by
    itself if the re-sends stop); a resolved one's is when it resolved.
    """
    validity = timedelta(seconds=resend_seconds * ALERTMANAGER_VALIDITY_FACTOR)
    return [
        {
            "labels": alert_labels(alert),
            "annotations": alert_annotations(alert),
            "startsAt": rfc3339(_starts_at(alert)),
            "endsAt": rfc3339(
                now + validity if alert.state is AlertState.FIRING else _ends_at(alert)
            ),
            "generatorURL": "",
        }
        for alert in notification.alerts
    ]


def headline(alert: OllamaPerformanceAlert) -> str:
    """One line naming the alert: state, severity, rule, where."""
    where = alert.host if not alert.model_name else f"{alert.host} / {alert.model_name}"
    return f"[{alert.state.value.upper()}] {alert.severity.value} {alert.alert_type} on {where}"


def text_body(notification: Notification) -> str:
    """Plain text: a headline and the message of each alert, with what to change."""
    lines = []
    for alert in notification.alerts:
        lines.append(f"{headline(alert)}: {alert.message}")
        if alert.recommendation and alert.state is AlertState.FIRING:
            lines.append(f"  what to change: {alert.recommendation}")
    return "\n".join(lines)


def slack_payload(notification: Notification) -> dict[str, Any]:
    """A Slack-compatible incoming-webhook message (Mattermost, Rocket.Chat take it too)."""
    return {"text": text_body(notification)}


def ntfy_message(notification: Notification) -> tuple[str, dict[str, str]]:
    """The body and headers of an ntfy publish (`POST <server>/<topic>`)."""
    trigger = notification.trigger
    firing = notification.status is AlertState.FIRING
    headers = {
        "Title": headline(trigger),
        "Priority": NTFY_PRIORITY[trigger.severity] if firing else "2",
        "Tags": "rotating_light" if firing else "white_check_mark",
    }
    return text_body(notification), headers


def email_message(notification: Notification, sender: str, to: Sequence[str]) -> EmailMessage:
    """An email with the notification as plain text."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = ", ".join(to)
    count = len(notification.alerts)
    more = f" (+{count - 1} more)" if count > 1 else ""
    message["Subject"] = f"ollamon: {headline(notification.trigger)}{more}"
    message.set_content(text_body(notification) + "\n")
    return message
