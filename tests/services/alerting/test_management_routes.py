"""Alerting's management over a real nats-server: acknowledgements, the silences and
thresholds routes, the audit trail in the stream, and what a restart keeps (windows and
baselines included)."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

import pytest
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from pydantic import BaseModel

from ollamon_alerting.service import running_alerting
from ollamon_alerting.state_store import AlertStateStore
from ollamon_core import subjects
from ollamon_core.bus import Bus, QueryFailedError, ServiceUnavailableError
from ollamon_core.events import (
    AlertAcknowledgement,
    Event,
    ServiceName,
    Silence,
    SilencesQuery,
    ThresholdsQuery,
    ThresholdUpdate,
    utc_now,
)
from ollamon_core.subjects import QueryRoute
from tests.conftest import BusFactory
from tests.services.alerting.conftest import AlertInbox
from tests.services.alerting.factories import HOST, MODEL, request
from tests.services.alerting.test_service import fast_settings, slow_request_seen
from tests.support.waiting import wait_for, wait_for_async


async def send_until_seen(bus: Bus, event: Event, seen: Callable[[], bool]) -> int:
    """Send `event` until the service shows it saw one (a message sent right after a new
    subscription was once not delivered here); returns how many were sent."""
    sent = 0

    async def sent_and_seen() -> bool:
        nonlocal sent
        if seen():
            return True
        await bus.publish(event)
        await bus.nc.flush()
        sent += 1
        return False

    await wait_for_async(sent_and_seen, 5, f"{type(event).__name__} seen")
    return sent


async def settled(counters: Counter[str], quiet_seconds: float = 0.3) -> int:
    """The events the service received, once that count stays put for `quiet_seconds`."""
    last = -1
    while counters["events_received"] != last:
        last = counters["events_received"]
        await asyncio.sleep(quiet_seconds)
    return last


RequestT = TypeVar("RequestT", bound=BaseModel)
ReplyT = TypeVar("ReplyT", bound=BaseModel)


async def ask(bus: Bus, route: QueryRoute[RequestT, ReplyT], query: RequestT) -> ReplyT:
    """A request to a service that just subscribed: "no responders" is asked again (its
    interest once reached the server after the first request here)."""
    answer: list[ReplyT] = []

    async def answered() -> bool:
        try:
            answer.append(await bus.request(route, query))
        except ServiceUnavailableError:
            return False
        return True

    await wait_for_async(answered, 5, f"an answer on {route.subject}")
    return answer[0]


class Recorder:
    """A plain subscriber keeping every JSON message of one subject."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []

    async def on_message(self, msg: Msg) -> None:
        self.messages.append(json.loads(msg.data))


@pytest.fixture
async def audits(plain_client: NatsClient) -> Recorder:
    recorder = Recorder()
    await plain_client.subscribe(subjects.AUDIT_ALERTING, cb=recorder.on_message)
    await plain_client.flush()
    return recorder


@pytest.fixture
async def publisher(bus_factory: BusFactory) -> Bus:
    return await bus_factory(ServiceName.PROBE)


@pytest.fixture
async def gateway(bus_factory: BusFactory) -> Bus:
    return await bus_factory(ServiceName.GATEWAY)


async def test_an_acknowledged_alert_is_answered_republished_audited_and_kept_across_a_restart(
    clean_nats_url: str,
    publisher: Bus,
    gateway: Bus,
    inbox: AlertInbox,
    audits: Recorder,
    plain_client: NatsClient,
) -> None:
    settings = fast_settings(clean_nats_url)
    async with running_alerting(settings) as service:
        await slow_request_seen(publisher, service)
        await wait_for(lambda: len(inbox.alerts) == 1, 5, "firing")
        fingerprint = inbox.alerts[0]["fingerprint"]
        with pytest.raises(QueryFailedError) as unknown:
            await ask(gateway, subjects.CONTROL_ACK, AlertAcknowledgement(fingerprint="nope"))
        assert unknown.value.error.status_code == 404
        reply = await ask(
            gateway,
            subjects.CONTROL_ACK,
            AlertAcknowledgement(fingerprint=fingerprint, author="ana", comment="looking"),
        )
        assert (reply.fingerprint, reply.host, reply.model_name) == (fingerprint, HOST, MODEL)
        assert reply.acknowledged_by == "ana"
        await wait_for(lambda: len(inbox.alerts) == 2, 5, "the alert again, acknowledged")
        again = inbox.alerts[1]
        assert (again["state"], again["acknowledged_by"], again["notification_count"]) == (
            "firing",
            "ana",
            1,
        )
        await wait_for(lambda: audits.messages, 5, "the audit event")
        (audit,) = audits.messages
        assert (audit["action"], audit["fingerprint"], audit["comment"]) == (
            "alert_acknowledged",
            fingerprint,
            "looking",
        )
        invalid_before = service.bus.counters["invalid_messages"]
        answer = await plain_client.request(
            subjects.CONTROL_ACK.subject, b'{"fingerprint": ""}', timeout=5
        )
        assert json.loads(answer.data)["status_code"] == 400
        assert service.bus.counters["invalid_messages"] == invalid_before + 1
        assert service.bus.counters["acknowledgements_rejected"] == 1
        assert await service.bus.flush_outbox(5)
    info = await publisher.js.stream_info("OLLAMON", subjects_filter=subjects.AUDIT_ALERTING)
    assert info.state.subjects == {subjects.AUDIT_ALERTING: 1}
    async with running_alerting(settings) as restarted:
        (record,) = restarted.engine.tracker.firing()
        assert record.acknowledged_by == "ana"


async def test_the_routes_answer_the_silences_and_thresholds_in_force_across_a_restart(
    clean_nats_url: str, publisher: Bus, gateway: Bus, audits: Recorder
) -> None:
    settings = fast_settings(clean_nats_url)
    silence = Silence(
        silence_id="upgrade",
        match_host=HOST,
        match_severity="critical",
        expires_at=utc_now() + timedelta(hours=2),
        author="bo",
        comment="driver upgrade",
    )
    update = ThresholdUpdate(rule="high_cpu", threshold=75, author="cy", comment="noisy box")
    async with running_alerting(settings) as service:
        counters = service.bus.counters
        silences = await send_until_seen(
            publisher, silence, lambda: counters["silences_received"] >= 1
        )
        await publisher.publish(update)
        await wait_for(lambda: counters["threshold_updates"] == 1, 5, "threshold")
        await wait_for(lambda: len(audits.messages) == silences + 1, 5, "the audit events")
    actions = [message["action"] for message in audits.messages]
    assert actions[0] == "silence_created"
    assert set(actions[1:-1]) <= {"silence_updated"}  # the same silence sent again
    assert actions[-1] == "threshold_changed"
    async with running_alerting(settings):
        (kept,) = (await ask(gateway, subjects.CONTROL_SILENCES, SilencesQuery())).silences
        assert (kept.silence_id, kept.match_severity, kept.author) == ("upgrade", "critical", "bo")
        assert kept.created_at is not None
        rows = (await ask(gateway, subjects.CONTROL_THRESHOLDS, ThresholdsQuery())).thresholds
        cpu = next(row for row in rows if row.rule == "high_cpu")
        assert (cpu.threshold, cpu.default, cpu.updated_by, cpu.maximum) == (75, 98, "cy", 100)


async def test_a_restart_keeps_the_baseline_and_the_window(
    clean_nats_url: str, publisher: Bus, plain_client: NatsClient
) -> None:
    settings = fast_settings(
        clean_nats_url, baseline_min_samples=20, state_save_interval_seconds=0.1
    )
    async with running_alerting(settings) as service:
        counters = service.bus.counters
        fast = request(tokens_per_second=90.0)
        await send_until_seen(publisher, fast, lambda: counters["events_received"] >= 1)
        for _ in range(29):
            await publisher.publish(request(tokens_per_second=90.0))
        await publisher.nc.flush()
        seen = await settled(counters)  # the first sends may be lost, a barrier one late
        assert seen >= 29
        assert service.engine.baselines.baseline(HOST, MODEL) == 90.0

        async def window_saved() -> bool:
            stored = await (await AlertStateStore.open(plain_client.jetstream())).load()
            return bool(stored.windows and stored.baselines)

        await wait_for_async(window_saved, 5, "window and baseline saved while running")
        (before,) = service.engine.scores(service.clock())
    async with running_alerting(settings) as restarted:
        assert restarted.bus.counters["windows_restored"] == 1
        assert restarted.engine.baselines.baseline(HOST, MODEL) == 90.0
        counters = restarted.bus.counters
        slow = request(tokens_per_second=30.0)
        await send_until_seen(publisher, slow, lambda: counters["events_received"] >= 1)
        more = await settled(counters)
        (after,) = restarted.engine.scores(restarted.clock())
    # Before the windows and baselines were kept: baseline None, a score of `more` requests.
    assert before.tokens_per_second_baseline == after.tokens_per_second_baseline == 90.0
    assert (before.request_count, after.request_count) == (seen, seen + more)
    assert after.tokens_per_second_mean == pytest.approx((seen * 90 + more * 30) / (seen + more))


async def test_a_silence_that_ended_while_alerting_was_down_is_purged_and_audited(
    clean_nats_url: str, plain_client: NatsClient, audits: Recorder
) -> None:
    store = await AlertStateStore.open(plain_client.jetstream())
    ended = Silence(
        silence_id="over",
        timestamp=utc_now() - timedelta(hours=2),
        expires_at=utc_now() - timedelta(hours=1),
    )
    await store.save_silence(ended, in_force=True)
    async with running_alerting(fast_settings(clean_nats_url)):
        await wait_for(lambda: audits.messages, 5, "the expiry audited")
        (audit,) = audits.messages
        assert (audit["action"], audit["author"]) == ("silence_expired", "alerting")
        assert audit["silence"]["silence_id"] == "over"
    assert (await store.load()).silences == []
