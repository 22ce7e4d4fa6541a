"""Fixtures of the alerting tests: a fake clock, settings with short timings, a plain NATS
client (what any user would connect with) and an inbox of the alerts it receives."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import nats
import pytest
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg

from ollamon_alerting.lifecycle import AlertTracker, LifecycleTiming
from ollamon_alerting.settings import AlertingSettings
from ollamon_alerting.silences import SilenceBook

START = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def timing() -> LifecycleTiming:
    return LifecycleTiming(
        for_seconds=30,
        resolve_seconds=60,
        hysteresis_fraction=0.1,
        repeat_interval_seconds=3600,
        stale_seconds=600,
    )


@pytest.fixture
def silences() -> SilenceBook:
    return SilenceBook()


@pytest.fixture
def tracker(timing: LifecycleTiming, silences: SilenceBook) -> AlertTracker:
    return AlertTracker(timing, silences)


def make_settings(**overrides: object) -> AlertingSettings:
    """Settings for tests: defaults unless overridden, nothing read from the environment."""
    values: dict[str, object] = {"host_label": "test-host"} | overrides
    return AlertingSettings.model_validate(values)


@pytest.fixture
async def plain_client(clean_nats_url: str) -> AsyncIterator[NatsClient]:
    nc = await nats.connect(clean_nats_url)
    try:
        yield nc
    finally:
        await nc.drain()


class AlertInbox:
    """A plain nats-py subscriber on `ollamon.alerts.>` (what any user would write)."""

    def __init__(self) -> None:
        self.alerts: list[dict[str, Any]] = []
        self.subjects: list[str] = []

    async def on_message(self, msg: Msg) -> None:
        self.subjects.append(msg.subject)
        self.alerts.append(json.loads(msg.data))

    def states(self, alert_type: str | None = None) -> list[tuple[str, str]]:
        return [
            (alert["alert_type"], alert["state"])
            for alert in self.alerts
            if alert_type is None or alert["alert_type"] == alert_type
        ]


@pytest.fixture
async def inbox(plain_client: NatsClient) -> AlertInbox:
    box = AlertInbox()
    await plain_client.subscribe("ollamon.alerts.>", cb=box.on_message)
    await plain_client.flush()
    return box
