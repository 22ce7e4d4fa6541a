"""Issue 15's "done when", end to end: alerting and the notifier running, a real HTTP
receiver that fails its first two deliveries and then accepts; a slow response fires the
`slow_response` alert, normal ones resolve it, and the receiver gets it once firing and
once resolved, in Alertmanager's webhook format, with the retries counted."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from ollamon_alerting.service import running_alerting
from ollamon_alerting.settings import AlertingSettings
from ollamon_core.events import OllamaModelMetrics, ServiceName
from ollamon_notifier.service import running_notifier
from tests.conftest import BusFactory
from tests.services.notifier.conftest import Deliveries
from tests.services.notifier.factories import notifier_settings
from tests.services.notifier.receiver import RecordingReceiver
from tests.support.waiting import wait_for_async

HOST, MODEL = "gpu-box", "llama3.2:1b"


def request(response_time_ms: float) -> OllamaModelMetrics:
    return OllamaModelMetrics(
        host=HOST,
        model_name=MODEL,
        response_time_ms=response_time_ms,
        tokens_generated=40,
        tokens_per_second=50.0,
    )


async def test_a_slow_response_reaches_a_failing_receiver_once_firing_and_once_resolved(
    clean_nats_url: str, bus_factory: BusFactory, deliveries: Deliveries
) -> None:
    probe = await bus_factory(ServiceName.PROBE)
    alerting_settings = AlertingSettings.model_validate(
        {
            "nats_url": clean_nats_url,
            "host_label": "test-host",
            "for_seconds": 0,
            "resolve_seconds": 0,
            "evaluation_interval_seconds": 0.1,
            "request_rule_requests": 3,
            "request_rule_breaches": 2,
        }
    )
    async with RecordingReceiver(statuses=[500, 500]) as receiver:
        settings = notifier_settings(clean_nats_url, webhook_urls=[receiver.url])
        async with running_notifier(settings) as notifier, running_alerting(alerting_settings):

            async def sent_until(
                condition: Callable[[], object], response_time_ms: float
            ) -> object:
                # Send until alerting has acted on one (the first message after its new
                # subscription may go undelivered): the alert is one however many it takes.
                await probe.publish(request(response_time_ms))
                await asyncio.sleep(0.1)
                return condition()

            # Over twice the 30 s threshold: one request fires at once (a severe breach).
            await wait_for_async(
                lambda: sent_until(lambda: receiver.accepted(), 90_000), 20, "firing"
            )
            await wait_for_async(
                lambda: sent_until(lambda: len(receiver.accepted()) == 2, 500), 20, "resolved"
            )
            counters = notifier.counters

    firing, ended = (request.json() for request in receiver.accepted())
    assert [request.status for request in receiver.received] == [500, 500, 200, 200]
    for payload, status in ((firing, "firing"), (ended, "resolved")):
        assert payload["version"] == "4"
        assert payload["status"] == status
        (alert,) = payload["alerts"]
        assert alert["labels"]["alertname"] == "slow_response"
        assert alert["labels"]["host"] == HOST
        assert alert["labels"]["model"] == MODEL
        assert alert["labels"]["severity"] in {"high", "critical"}
    assert firing["alerts"][0]["fingerprint"] == ended["alerts"][0]["fingerprint"]
    assert firing["alerts"][0]["startsAt"] == ended["alerts"][0]["startsAt"]
    assert ended["alerts"][0]["endsAt"] != "0001-01-01T00:00:00Z"
    assert [outcome for _, outcome, _ in deliveries.outcomes()] == [
        "retrying",
        "retrying",
        "delivered",
        "delivered",
    ]
    assert counters["notifications_retrying"] == 2
