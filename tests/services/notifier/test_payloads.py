"""What each receiver kind is sent (pure builders)."""

from __future__ import annotations

from datetime import timedelta

from ollamon_notifier.payloads import (
    Notification,
    alertmanager_alerts,
    ntfy_message,
    webhook_payload,
)
from tests.services.notifier.factories import STARTED, firing, resolved


def notification(*alerts: object, trigger: object = None) -> Notification:
    chosen = list(alerts)
    return Notification(
        receiver="ops",
        group_key='{}:{host="gpu-box"}',
        group_labels={"host": "gpu-box"},
        trigger=trigger or chosen[-1],  # type: ignore[arg-type]
        alerts=tuple(chosen),  # type: ignore[arg-type]
    )


def test_the_webhook_payload_has_common_labels_and_annotations_of_its_alerts() -> None:
    one, two = firing("fp-1"), firing("fp-2", alert_type="context_overflow", threshold=90.0)
    payload = webhook_payload(notification(one, two))
    assert payload["commonLabels"] == {
        "severity": "high",
        "host": "gpu-box",
        "model": "llama3.2:1b",
    }
    assert payload["commonAnnotations"] == {
        "summary": one.message,
        "recommendation": one.recommendation,
        "metric_value": "45000",
    }
    assert payload["groupLabels"] == {"host": "gpu-box"}
    assert payload["truncatedAlerts"] == 0
    assert [alert["labels"]["alertname"] for alert in payload["alerts"]] == [
        "slow_response",
        "context_overflow",
    ]


def test_an_alert_without_a_model_has_no_model_label() -> None:
    (alert,) = webhook_payload(notification(firing(model_name=None)))["alerts"]
    assert "model" not in alert["labels"]


def test_alertmanager_gets_endsat_four_resends_ahead_while_firing_and_the_end_after() -> None:
    now = STARTED + timedelta(minutes=5)
    (posted,) = alertmanager_alerts(notification(firing()), now, resend_seconds=60)
    assert posted["endsAt"] == "2026-01-01T12:09:00Z"
    assert posted["startsAt"] == "2026-01-01T12:00:00Z"
    (ended,) = alertmanager_alerts(notification(resolved(firing())), now, resend_seconds=60)
    assert ended["endsAt"] == "2026-01-01T12:02:00Z"


def test_ntfy_gets_a_title_priority_and_tags_by_severity_and_state() -> None:
    body, headers = ntfy_message(notification(firing(severity="critical")))
    assert headers == {
        "Title": "[FIRING] critical slow_response on gpu-box / llama3.2:1b",
        "Priority": "5",
        "Tags": "rotating_light",
    }
    assert "Response time 45000 ms" in body
    _, headers = ntfy_message(notification(resolved(firing())))
    assert (headers["Priority"], headers["Tags"]) == ("2", "white_check_mark")
