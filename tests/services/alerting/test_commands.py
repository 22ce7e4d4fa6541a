"""Threshold updates and silences from a plain NATS client are held to the same rules as
REST: a bad one is dead-lettered or refused and counted, nothing of it reaches the state
bucket, and nothing bad is there after a restart (real nats-server, real KV bucket)."""

from __future__ import annotations

import json
from collections import Counter
from datetime import timedelta

from nats.aio.client import Client as NatsClient

from ollamon_alerting.rules import RuleName, thresholds_from_settings
from ollamon_alerting.service import AlertingService, running_alerting
from ollamon_alerting.settings import AlertingSettings
from ollamon_alerting.state_store import AlertStateStore, silence_key
from ollamon_core import subjects
from ollamon_core.events import utc_now
from tests.services.alerting.test_service import fast_settings
from tests.support.waiting import wait_for, wait_for_async

# Refused by the event model: dead-lettered before any handler sees them.
MALFORMED_THRESHOLDS = [
    b'{"rule": "high_cpu", "threshold": NaN}',
    b'{"rule": "slow_response", "threshold": 1e308}',
    b'{"rule": "slow_response", "threshold": Infinity}',
    b'{"rule": "high_cpu", "threshold": "50"}',
    b'{"rule": "high_cpu", "threshold": true}',
    b'{"rule": "high_cpu", "threshold": -1}',
    b'{"rule": "' + b"r" * 65 + b'", "threshold": 50}',
]
# Valid events, refused by alerting: outside the rule's own range.
OUT_OF_RANGE_THRESHOLDS = [
    b'{"rule": "high_cpu", "threshold": 150}',
    b'{"rule": "error_rate_percent", "threshold": 0}',
    b'{"rule": "ollama_unreachable", "threshold": 1}',
]


def silence_body(silence_id: str, expires_in: timedelta, timestamp_in: timedelta) -> bytes:
    now = utc_now()
    return json.dumps(
        {
            "silence_id": silence_id,
            "expires_at": (now + expires_in).isoformat(),
            "timestamp": (now + timestamp_in).isoformat(),
        }
    ).encode()


def malformed_silences() -> list[bytes]:
    return [
        b'{"silence_id": "forever", "expires_at": "2099-01-01T00:00:00Z"}',
        silence_body("long", timedelta(days=31), timedelta(0)),
        b'{"silence_id": "' + b"s" * 129 + b'", "expires_at": "2020-01-01T00:00:00Z"}',
        json.dumps(
            {"silence_id": "c", "expires_at": "2020-01-01T00:00:00Z", "comment": "x" * 1001}
        ).encode(),
    ]


def forged_silences() -> list[bytes]:
    # A timestamp set far ahead passes the event's own check; alerting's clock refuses it.
    return [silence_body("forged", timedelta(days=400), timedelta(days=399))]


async def bucket_keys(nc: NatsClient) -> list[str]:
    """Every key the state bucket holds a value for."""
    stored = await (await AlertStateStore.open(nc.jetstream())).load()
    assert stored.unreadable == []
    return [silence_key(silence.silence_id) for silence in stored.silences] + [
        f"threshold.{rule.value}" for rule in stored.thresholds
    ]


def assert_untouched(service: AlertingService, settings: AlertingSettings) -> None:
    assert service.engine.thresholds == thresholds_from_settings(settings)
    assert service.engine.silences.silences == {}


class FirstInvalidSeen:
    """Sends malformed threshold updates until the service has counted one, and keeps the
    number sent: those still in flight when it returns are counted later, so the exact
    total to expect is `sent` plus whatever the test sends after it."""

    def __init__(self, client: NatsClient, counters: Counter[str]) -> None:
        self.client = client
        self.counters = counters
        self.sent = 0

    async def __call__(self) -> bool:
        if self.counters["invalid_messages"] >= 1:
            return True
        await self.client.publish(subjects.CONTROL_THRESHOLD, MALFORMED_THRESHOLDS[0])
        await self.client.flush()
        self.sent += 1
        return False


async def test_bad_thresholds_and_silences_from_a_plain_client_are_refused_and_never_stored(
    clean_nats_url: str, plain_client: NatsClient
) -> None:
    settings = fast_settings(clean_nats_url)
    malformed = MALFORMED_THRESHOLDS + malformed_silences()
    async with running_alerting(settings) as service:
        counters = service.bus.counters
        # The path is live end to end before the burst (a message sent right after a new
        # subscription went undelivered once here); every one sent is counted in the end.
        first_seen = FirstInvalidSeen(plain_client, counters)
        await wait_for_async(first_seen, 5, "first seen")
        for body in MALFORMED_THRESHOLDS + OUT_OF_RANGE_THRESHOLDS:
            await plain_client.publish(subjects.CONTROL_THRESHOLD, body)
        for body in malformed_silences() + forged_silences():
            await plain_client.publish(subjects.CONTROL_SILENCE, body)
        await wait_for(
            lambda: counters["invalid_messages"] == first_seen.sent + len(malformed),
            5,
            "dead-lettered",
        )
        await wait_for(
            lambda: counters["threshold_updates_rejected"] == len(OUT_OF_RANGE_THRESHOLDS),
            5,
            "thresholds refused",
        )
        await wait_for(lambda: counters["silences_rejected"] == 1, 5, "the forged silence")
        assert counters["threshold_updates"] == counters["silences_received"] == 0
        assert_untouched(service, settings)
    assert await bucket_keys(plain_client) == []
    async with running_alerting(settings) as restarted:
        assert_untouched(restarted, settings)
        assert restarted.bus.counters["alert_state_dropped"] == 0


async def test_a_good_threshold_and_silence_are_kept_across_a_restart(
    clean_nats_url: str, plain_client: NatsClient
) -> None:
    settings = fast_settings(clean_nats_url)
    async with running_alerting(settings) as service:
        await plain_client.publish(
            subjects.CONTROL_THRESHOLD, b'{"rule": "high_cpu", "threshold": 75}'
        )
        await plain_client.publish(
            subjects.CONTROL_SILENCE, silence_body("month", timedelta(days=30), timedelta(0))
        )
        await wait_for(lambda: service.bus.counters["threshold_updates"] == 1, 5, "threshold")
        await wait_for(lambda: service.bus.counters["silences_received"] == 1, 5, "silence")
    async with running_alerting(settings) as restarted:
        assert restarted.engine.thresholds[RuleName.HIGH_CPU] == 75
        assert set(restarted.engine.silences.silences) == {"month"}


async def test_bad_state_left_in_the_bucket_is_dropped_at_start(
    clean_nats_url: str, plain_client: NatsClient
) -> None:
    # What an older version stored from the commands above, or a hand-written entry.
    store = await AlertStateStore.open(plain_client.jetstream())
    await store.kv.put("threshold.high_cpu", b"nan")
    await store.kv.put("threshold.slow_response", b"1e308")
    await store.kv.put(
        silence_key("forever"),
        b'{"event_id": "e1", "timestamp": "2025-01-01T00:00:00Z", "host": "h", '
        b'"kind": "silence", "silence_id": "forever", "expires_at": "2099-01-01T00:00:00Z"}',
    )
    await store.kv.put(silence_key("forged"), forged_silences()[0])
    settings: AlertingSettings = fast_settings(clean_nats_url)
    async with running_alerting(settings) as service:
        assert_untouched(service, settings)
        assert service.bus.counters["alert_state_dropped"] == 4
    assert await bucket_keys(plain_client) == []
