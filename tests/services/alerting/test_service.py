"""The alerting service in-process over a real nats-server, watched by a plain subscriber."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg

from ollamon_alerting.service import AlertingService, running_alerting
from ollamon_core.bus import Bus
from ollamon_core.events import ServiceName, Silence, ThresholdUpdate, utc_now
from tests.conftest import BusFactory
from tests.services.alerting.conftest import AlertInbox, make_settings
from tests.services.alerting.factories import failed_request, request
from tests.support.waiting import wait_for, wait_for_async


@pytest.fixture
async def publisher(bus_factory: BusFactory) -> Bus:
    return await bus_factory(ServiceName.PROBE)


def fast_settings(url: str, **overrides: object) -> Any:
    values: dict[str, object] = {
        "nats_url": url,
        "for_seconds": 0,
        "resolve_seconds": 0,
        "min_requests": 5,
        # One request decides a per-request rule (1 of 1), as before k of n.
        "request_rule_breaches": 1,
        "request_rule_requests": 1,
        "evaluation_interval_seconds": 0.05,
        "heartbeat_interval_seconds": 0.2,
    } | overrides
    return make_settings(**values)


@pytest.fixture
async def service(clean_nats_url: str, publisher: Bus) -> AsyncIterator[AlertingService]:
    async with running_alerting(fast_settings(clean_nats_url)) as running:
        yield running


async def test_a_plain_subscriber_gets_firing_then_resolved_for_a_slow_model(
    service: AlertingService, publisher: Bus, inbox: AlertInbox
) -> None:
    await publisher.publish(request(response_time_ms=45000))
    await wait_for(lambda: inbox.states() == [("slow_response", "firing")], 5, "firing")
    await publisher.publish(request(response_time_ms=900))
    await wait_for(lambda: len(inbox.alerts) == 2, 5, "resolved")
    firing, resolved = inbox.alerts
    assert inbox.states() == [("slow_response", "firing"), ("slow_response", "resolved")]
    assert inbox.subjects == ["ollamon.alerts.medium", "ollamon.alerts.medium"]
    assert firing["fingerprint"] == resolved["fingerprint"]
    assert firing["model_name"] == "llama3.2:1b"
    assert resolved["starts_at"] == firing["starts_at"]
    assert resolved["ends_at"] is not None
    assert firing["recommendation"]


async def test_a_plain_subscriber_gets_firing_then_resolved_for_a_failing_model(
    service: AlertingService, publisher: Bus, inbox: AlertInbox
) -> None:
    for _ in range(5):
        await publisher.publish(failed_request(status_code=503))
    await wait_for(lambda: inbox.states() == [("low_success_rate", "firing")], 5, "firing")
    assert inbox.subjects == ["ollamon.alerts.critical"]
    assert "OLLAMA_NUM_PARALLEL" in inbox.alerts[0]["recommendation"]
    for _ in range(60):
        await publisher.publish(request())
    await wait_for(lambda: len(inbox.alerts) == 2, 5, "resolved")
    assert inbox.states() == [("low_success_rate", "firing"), ("low_success_rate", "resolved")]


async def test_alerts_are_kept_by_the_event_stream(
    service: AlertingService, publisher: Bus, inbox: AlertInbox
) -> None:
    await publisher.publish(request(response_time_ms=45000))
    await wait_for(lambda: inbox.alerts, 5, "firing")
    assert await service.bus.flush_outbox(5)
    info = await publisher.js.stream_info("OLLAMON", subjects_filter="ollamon.alerts.>")
    assert info.state.subjects == {"ollamon.alerts.medium": 1}


async def test_a_threshold_update_over_the_control_subject_applies_at_once(
    service: AlertingService, publisher: Bus, inbox: AlertInbox
) -> None:
    await publisher.publish(ThresholdUpdate(rule="response_time_ms", threshold=1000))
    await publisher.publish(ThresholdUpdate(rule="no_such_rule", threshold=1))
    await wait_for(lambda: service.bus.counters["threshold_updates"] == 1, 5, "update applied")
    await wait_for(lambda: service.bus.counters["threshold_updates_rejected"] == 1, 5, "rejected")
    await publisher.publish(request(response_time_ms=1500))
    await wait_for(lambda: inbox.alerts, 5, "firing at the new threshold")
    assert inbox.alerts[0]["threshold"] == 1000


async def test_a_silence_over_the_control_subject_holds_matching_alerts_back(
    service: AlertingService, publisher: Bus, inbox: AlertInbox
) -> None:
    silence = Silence(
        silence_id="maintenance",
        match_model="silenced-model",
        expires_at=utc_now() + timedelta(hours=1),
    )
    await publisher.publish(silence)
    await wait_for(lambda: service.bus.counters["silences_received"] == 1, 5, "silence applied")
    await publisher.publish(request(model_name="silenced-model", response_time_ms=45000))
    await publisher.publish(request(model_name="loud-model", response_time_ms=45000))
    await wait_for(lambda: inbox.alerts, 5, "the unsilenced alert")
    assert [alert["model_name"] for alert in inbox.alerts] == ["loud-model"]


async def test_scores_are_published_per_model(
    service: AlertingService, publisher: Bus, plain_client: NatsClient
) -> None:
    scores: list[dict[str, Any]] = []

    async def keep(msg: Msg) -> None:
        scores.append(json.loads(msg.data))

    await plain_client.subscribe("ollamon.scores.>", cb=keep)
    await publisher.publish(request())
    await wait_for(lambda: service.engine.windows, 5, "request seen")
    assert await service.publish_scores() == 1
    await wait_for(lambda: scores, 5, "score")
    assert scores[0]["model_name"] == "llama3.2:1b"
    assert 9.5 < scores[0]["score"] <= 10.0  # a fast, healthy model
    assert set(scores[0]["components"]) == {"success", "latency", "ttft", "load"}


async def slow_request_seen(publisher: Bus, service: AlertingService) -> None:
    """Send slow requests until `service` has seen one (a message sent right after a new
    subscription was not delivered in about 1 run in 30 here); one alert fires per model."""

    async def seen() -> bool:
        await publisher.publish(request(response_time_ms=45000))
        await publisher.nc.flush()
        return service.bus.counters["events_received"] >= 1

    await wait_for_async(seen, 5, "a slow request seen")


async def test_a_restarted_service_neither_refires_nor_forgets(
    clean_nats_url: str, publisher: Bus, inbox: AlertInbox
) -> None:
    settings = fast_settings(clean_nats_url)
    async with running_alerting(settings) as first:
        await slow_request_seen(publisher, first)
        await wait_for(lambda: len(inbox.alerts) == 1, 5, "firing")
        assert first.engine.tracker.firing()
    async with running_alerting(settings) as second:
        assert second.bus.counters["alerts_restored"] == 1
        await slow_request_seen(publisher, second)  # still slow: must not fire again
        await publisher.publish(request(response_time_ms=900))
        await wait_for(lambda: len(inbox.alerts) == 2, 5, "resolved")
    firing, resolved = inbox.alerts
    assert (firing["state"], resolved["state"]) == ("firing", "resolved")
    assert resolved["fingerprint"] == firing["fingerprint"]
    assert resolved["starts_at"] == firing["starts_at"]
    assert resolved["notification_count"] == 1


async def test_a_malformed_message_is_dead_lettered_and_the_service_keeps_working(
    service: AlertingService, publisher: Bus, inbox: AlertInbox
) -> None:
    await publisher.nc.publish("ollamon.requests.x", b'{"model_name": 5}')
    await wait_for(lambda: service.bus.counters["invalid_messages"] == 1, 5, "dead-lettered")
    await publisher.publish(request(response_time_ms=45000))
    await wait_for(lambda: inbox.alerts, 5, "firing after bad input")
