"""performance_anomaly over a real nats-server: a model's latency steps up, the alert fires
with its evidence, and the learned baseline survives a restart."""

from __future__ import annotations

import math

from nats.aio.client import Client as NatsClient

from ollamon_alerting.service import AlertingService, running_alerting
from ollamon_alerting.state_store import AlertStateStore
from ollamon_core.bus import Bus
from ollamon_core.events import OllamaModelMetrics, ServiceName
from tests.conftest import BusFactory
from tests.services.alerting.conftest import AlertInbox, FakeClock
from tests.services.alerting.factories import HOST, MODEL, request
from tests.services.alerting.test_management_routes import send_until_seen
from tests.services.alerting.test_service import fast_settings
from tests.support.waiting import wait_for, wait_for_async

LEARNED = 40  # requests a minute apart: past the 30 the baseline learns before it judges


async def send_one(service: AlertingService, publisher: Bus, event: OllamaModelMetrics) -> None:
    """Publish a request and wait until alerting has taken it (so the clock can move on)."""
    seen = service.bus.counters["events_received"]
    await publisher.publish(event)
    await wait_for(lambda: service.bus.counters["events_received"] > seen, 5, "request seen")


async def test_a_latency_step_fires_performance_anomaly_with_its_evidence_and_the_baseline_is_kept(
    clean_nats_url: str, bus_factory: BusFactory, plain_client: NatsClient, inbox: AlertInbox
) -> None:
    publisher = await bus_factory(ServiceName.PROBE)
    clock = FakeClock()
    settings = fast_settings(
        clean_nats_url,
        request_rule_breaches=3,
        request_rule_requests=10,
        state_save_interval_seconds=0.1,
    )
    async with running_alerting(settings, clock) as service:
        counters = service.bus.counters
        await send_until_seen(publisher, request(), lambda: counters["events_received"] >= 1)
        for index in range(LEARNED):
            clock.advance(60)
            noisy = 800.0 * (1 + 0.04 * math.sin(index))
            await send_one(service, publisher, request(response_time_ms=noisy))
        assert inbox.states("performance_anomaly") == []
        for _ in range(3):
            clock.advance(60)
            await send_one(service, publisher, request(response_time_ms=2400.0))
        await wait_for(
            lambda: inbox.states("performance_anomaly") == [("performance_anomaly", "firing")],
            5,
            "performance_anomaly firing",
        )
        alert = inbox.alerts[-1]
        evidence = alert["evidence"]
        assert (alert["host"], alert["model_name"]) == (HOST, MODEL)
        assert evidence["metric"] == "latency_ms"
        assert evidence["observed"] == 2400.0
        assert 760 < evidence["expected"] < 840
        assert evidence["band_low"] < evidence["expected"] < evidence["band_high"] < 2400
        assert (evidence["outside"], evidence["judged"]) == (3, 10)
        assert alert["metric_value"] > alert["threshold"] == 4.0
        assert "latency_ms 2400 ms, expected" in alert["message"]
        assert "3 of the last 10 requests outside" in alert["message"]

        async def baseline_saved() -> bool:
            stored = await (await AlertStateStore.open(plain_client.jetstream())).load()
            return bool(stored.anomalies)

        await wait_for_async(baseline_saved, 5, "anomaly baseline saved while running")
    async with running_alerting(settings, clock) as restarted:
        assert restarted.bus.counters["anomaly_baselines_restored"] == 1
        book = restarted.engine.anomalies
        (detectors,) = book.detectors.values()
        band = detectors["latency_ms"].baseline.band(clock())
        assert band is not None
        assert 760 < band.expected < 900
