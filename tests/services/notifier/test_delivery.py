"""The notifier against real receivers on loopback, alerts read from a real JetStream."""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta
from pathlib import Path

import nats
from nats.aio.msg import Msg
from pydantic import SecretStr

from ollamon_core import subjects
from ollamon_core.events import ServiceName
from ollamon_notifier.delivery import RECEIVER_HEADER
from ollamon_notifier.payloads import ZERO_TIME
from ollamon_notifier.receivers import SIGNATURE_HEADER
from ollamon_notifier.service import running_notifier
from tests.services.notifier.conftest import AlertPublisher, Deliveries
from tests.services.notifier.factories import (
    HOST,
    MODEL,
    firing,
    notifier_settings,
    resolved,
    routes_file,
)
from tests.services.notifier.receiver import RecordingReceiver
from tests.support.waiting import wait_for, wait_for_async


async def unsettled(url: str) -> int:
    """Alerts the notifier's durable consumer has delivered and not had acked."""
    nc = await nats.connect(url)
    try:
        info = await nc.jetstream().consumer_info(subjects.STREAM_EVENTS, subjects.NOTIFIER_DURABLE)
        return int(info.num_ack_pending) + int(info.num_pending)
    finally:
        await nc.close()


async def test_a_receiver_failing_twice_gets_the_alert_once_firing_and_once_resolved(
    clean_nats_url: str, publish: AlertPublisher, deliveries: Deliveries
) -> None:
    settings = notifier_settings(clean_nats_url, webhook_urls=[])
    async with RecordingReceiver(statuses=[500, 503]) as receiver:
        settings = notifier_settings(clean_nats_url, webhook_urls=[receiver.url + "/hook"])
        async with running_notifier(settings) as dispatcher:
            alert = firing()
            await publish(alert)
            await wait_for(lambda: len(receiver.accepted()) == 1, 10, "the firing notification")
            await publish(resolved(alert))
            await wait_for(lambda: len(receiver.accepted()) == 2, 10, "the resolved notification")
            await wait_for(lambda: len(deliveries.events) == 4, 5, "four delivery events")
            await wait_for_async(
                lambda: _settled(clean_nats_url), 10, "both alerts acked by the notifier"
            )
            counters = dispatcher.counters

    assert [request.status for request in receiver.received] == [500, 503, 200, 200]
    assert {request.path for request in receiver.received} == {"/hook"}
    firing_payload, resolved_payload = (request.json() for request in receiver.accepted())
    assert firing_payload["version"] == "4"
    assert firing_payload["status"] == "firing"
    assert firing_payload["receiver"] == "webhook-1"
    assert firing_payload["groupKey"] == (
        '{}:{alertname="slow_response",host="gpu-box",model="llama3.2:1b"}'
    )
    (sent,) = firing_payload["alerts"]
    assert sent["status"] == "firing"
    assert sent["labels"] == {
        "alertname": "slow_response",
        "severity": "high",
        "host": HOST,
        "model": MODEL,
        "fingerprint": "fp-slow",
    }
    assert sent["annotations"]["summary"] == alert.message
    assert sent["annotations"]["threshold"] == "30000"
    assert sent["startsAt"] == "2026-01-01T12:00:00Z"
    assert sent["endsAt"] == ZERO_TIME
    assert sent["fingerprint"] == "fp-slow"
    assert resolved_payload["status"] == "resolved"
    (ended,) = resolved_payload["alerts"]
    assert ended["status"] == "resolved"
    assert ended["startsAt"] == "2026-01-01T12:00:00Z"
    assert ended["endsAt"] == "2026-01-01T12:02:00Z"
    assert deliveries.outcomes() == [
        ("firing", "retrying", 1),
        ("firing", "retrying", 2),
        ("firing", "delivered", 3),
        ("resolved", "delivered", 1),
    ]
    assert [event.status_code for event in deliveries.events] == [500, 503, 200, 200]
    assert deliveries.events[0].error is not None and "HTTP 500" in deliveries.events[0].error
    assert counters["notifications_retrying"] == 2
    assert counters["notifications_delivered"] == 2


async def _settled(url: str) -> bool:
    return await unsettled(url) == 0


async def test_the_signature_header_verifies_with_the_shared_key_only(
    clean_nats_url: str, publish: AlertPublisher
) -> None:
    key = "a shared key"
    async with RecordingReceiver() as receiver:
        settings = notifier_settings(
            clean_nats_url, webhook_urls=[receiver.url], webhook_secret=SecretStr(key)
        )
        async with running_notifier(settings):
            await publish(firing())
            await wait_for(lambda: receiver.accepted(), 10, "the notification")

    (request,) = receiver.received
    header = request.headers[SIGNATURE_HEADER.lower()]
    expected = hmac.new(key.encode(), request.body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(header, f"sha256={expected}")
    forged = hmac.new(b"another key", request.body, hashlib.sha256).hexdigest()
    assert not hmac.compare_digest(header, f"sha256={forged}")


async def test_alertmanager_gets_the_alert_again_while_it_fires_then_its_end(
    clean_nats_url: str, publish: AlertPublisher, tmp_path: Path
) -> None:
    async with RecordingReceiver() as alertmanager:
        routes = await routes_file(
            tmp_path,
            f"""
receivers:
  - {{name: am, kind: alertmanager, url: "{alertmanager.url}"}}
routes:
  - receivers: [am]
""",
        )
        settings = notifier_settings(
            clean_nats_url, routes_file=routes, alertmanager_resend_seconds=0.3
        )
        async with running_notifier(settings):
            alert = firing()
            await publish(alert)
            await wait_for(lambda: len(alertmanager.received) >= 3, 10, "two re-sends")
            await publish(resolved(alert))
            await wait_for(
                lambda: alertmanager.received[-1].json()[0]["endsAt"] == "2026-01-01T12:02:00Z",
                10,
                "the resolution",
            )
            sent_while_firing = len(alertmanager.received) - 1

    assert {request.path for request in alertmanager.received} == {"/api/v2/alerts"}
    assert sent_while_firing >= 3
    for request in alertmanager.received[:sent_while_firing]:
        (posted,) = request.json()
        assert posted["labels"]["alertname"] == "slow_response"
        assert posted["startsAt"] == "2026-01-01T12:00:00Z"
        # endsAt four resend intervals past the send: Alertmanager resolves it by itself
        # if the re-sends stop.
        ends = datetime.fromisoformat(posted["endsAt"])
        assert timedelta(0) < ends - _sent_at(request) <= timedelta(seconds=1.3)


def _sent_at(request: object) -> datetime:
    # The receiver records a monotonic time; the payload's own clock is wall time, so
    # compare against now minus the request's age.
    import time

    from ollamon_core.events import utc_now

    age = time.monotonic() - request.at  # type: ignore[attr-defined]
    return utc_now() - timedelta(seconds=age)


async def test_a_refused_notification_is_dead_lettered_and_its_alert_acked(
    clean_nats_url: str, publish: AlertPublisher, deliveries: Deliveries
) -> None:
    nc = await nats.connect(clean_nats_url)
    dead: list[Msg] = []

    async def keep(msg: Msg) -> None:
        dead.append(msg)

    await nc.subscribe(subjects.deadletter_subject(ServiceName.NOTIFIER), cb=keep)
    try:
        async with RecordingReceiver(default_status=400) as receiver:
            settings = notifier_settings(clean_nats_url, webhook_urls=[receiver.url])
            async with running_notifier(settings):
                await publish(firing())
                await wait_for(lambda: dead, 10, "a dead letter")
                await wait_for_async(lambda: _settled(clean_nats_url), 10, "the alert acked")
    finally:
        await nc.drain()
    assert len(receiver.received) == 1
    assert deliveries.outcomes() == [("firing", "failed", 1)]
    assert dead[0].headers is not None
    assert dead[0].headers[RECEIVER_HEADER] == "webhook-1"
    assert "HTTP 400" in dead[0].headers["Ollamon-Error"]


async def test_a_receiver_failing_past_the_give_up_time_is_dead_lettered(
    clean_nats_url: str, publish: AlertPublisher, deliveries: Deliveries
) -> None:
    async with RecordingReceiver(default_status=502) as receiver:
        settings = notifier_settings(
            clean_nats_url, webhook_urls=[receiver.url], give_up_seconds=0.5
        )
        async with running_notifier(settings):
            await publish(firing())
            await wait_for(
                lambda: (
                    deliveries.outcomes()[-1:]
                    == [("firing", "dead_lettered", len(receiver.received))]
                ),
                10,
                "the give-up",
            )
            await wait_for_async(lambda: _settled(clean_nats_url), 10, "the alert acked")
    outcomes = [outcome for _, outcome, _ in deliveries.outcomes()]
    assert outcomes[:-1] == ["retrying"] * (len(outcomes) - 1)
    assert len(outcomes) >= 3


async def test_a_firing_group_is_notified_again_every_repeat_interval(
    clean_nats_url: str, publish: AlertPublisher, deliveries: Deliveries, tmp_path: Path
) -> None:
    async with RecordingReceiver() as receiver:
        routes = await routes_file(
            tmp_path,
            f"""
receivers:
  - {{name: ops, kind: webhook, url: "{receiver.url}"}}
routes:
  - receivers: [ops]
    repeat_interval_seconds: 1
""",
        )
        settings = notifier_settings(clean_nats_url, routes_file=routes)
        async with running_notifier(settings):
            alert = firing()
            await publish(alert)
            await wait_for(lambda: len(receiver.received) >= 3, 10, "two repeats")
            await publish(resolved(alert))
            await wait_for(
                lambda: receiver.received[-1].json()["status"] == "resolved", 10, "resolved"
            )
            count = len(receiver.received)
            # Resolved: no more repeats.
            await wait_for(lambda: dispatcher_idle(deliveries), 3, "events")
    assert [request.json()["status"] for request in receiver.received] == ["firing"] * (
        count - 1
    ) + ["resolved"]
    assert [event.repeat for event in deliveries.events][:3] == [False, True, True]


def dispatcher_idle(deliveries: Deliveries) -> bool:
    return bool(deliveries.events) and deliveries.events[-1].alert_state.value == "resolved"


async def test_only_the_routes_whose_matchers_take_an_alert_notify_their_receivers(
    clean_nats_url: str, publish: AlertPublisher, deliveries: Deliveries, tmp_path: Path
) -> None:
    async with RecordingReceiver() as pager, RecordingReceiver() as chat:
        routes = await routes_file(
            tmp_path,
            f"""
receivers:
  - {{name: pager, kind: webhook, url: "{pager.url}"}}
  - {{name: chat, kind: slack, url: "{chat.url}"}}
routes:
  - receivers: [pager]
    match: {{severity: [critical], host: [{HOST}]}}
  - receivers: [chat]
""",
        )
        settings = notifier_settings(clean_nats_url, routes_file=routes)
        async with running_notifier(settings):
            await publish(firing("fp-high"), firing("fp-critical", severity="critical"))
            await wait_for(lambda: len(chat.received) == 2, 10, "both in the chat")
            await wait_for(lambda: len(pager.received) == 1, 10, "the critical one paged")
    assert pager.received[0].json()["alerts"][0]["fingerprint"] == "fp-critical"
    assert chat.received[0].json() == {
        "text": "[FIRING] high slow_response on gpu-box / llama3.2:1b: "
        "Response time 45000 ms over the 30000 ms threshold\n"
        "  what to change: Lower num_ctx or use a smaller model"
    }
    assert {event.receiver for event in deliveries.events} == {"pager", "chat"}


async def test_ntfy_gets_the_alert_as_text_with_its_token_and_priority(
    clean_nats_url: str, publish: AlertPublisher, tmp_path: Path
) -> None:
    async with RecordingReceiver() as ntfy:
        routes = await routes_file(
            tmp_path,
            f"""
receivers:
  - {{name: phone, kind: ntfy, url: "{ntfy.url}/ollama-alerts", token: tk_secret}}
routes:
  - receivers: [phone]
""",
        )
        async with running_notifier(notifier_settings(clean_nats_url, routes_file=routes)):
            await publish(firing(severity="critical"))
            await wait_for(lambda: ntfy.received, 10, "the ntfy message")
    (request,) = ntfy.received
    assert request.path == "/ollama-alerts"
    assert request.headers["authorization"] == "Bearer tk_secret"
    assert request.headers["priority"] == "5"
    assert request.headers["title"] == "[FIRING] critical slow_response on gpu-box / llama3.2:1b"
    assert request.body.decode().startswith("[FIRING] critical slow_response")
