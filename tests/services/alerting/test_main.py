"""`python -m ollamon_alerting` as its own process, as the launcher starts it."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from typing import Any

import nats
from nats.aio.msg import Msg

from ollamon_core.events import ServiceName
from tests.conftest import BusFactory
from tests.services.alerting.factories import request
from tests.support.waiting import wait_for


async def test_the_module_runs_as_a_service_and_stops_cleanly_on_sigterm(
    clean_nats_url: str, bus_factory: BusFactory
) -> None:
    publisher = await bus_factory(ServiceName.PROBE)
    nc = await nats.connect(clean_nats_url)
    alerts: list[dict[str, Any]] = []
    heartbeats: list[dict[str, Any]] = []

    async def keep_alert(msg: Msg) -> None:
        alerts.append(json.loads(msg.data))

    async def keep_heartbeat(msg: Msg) -> None:
        heartbeats.append(json.loads(msg.data))

    await nc.subscribe("ollamon.alerts.>", cb=keep_alert)
    await nc.subscribe("ollamon.heartbeat.alerting", cb=keep_heartbeat)
    env = os.environ | {
        "OLLAMON_NATS_URL": clean_nats_url,
        "OLLAMON_ALERT_FOR_SECONDS": "0",
        "OLLAMON_ALERT_RESOLVE_SECONDS": "0",
        "OLLAMON_ALERT_REQUEST_RULE_BREACHES": "1",  # one request decides (1 of 1)
        "OLLAMON_ALERT_REQUEST_RULE_REQUESTS": "1",
        "OLLAMON_HEARTBEAT_INTERVAL": "0.2",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "ollamon_alerting", env=env
    )
    try:
        # The first heartbeat is sent once every subscription is in place.
        await wait_for(lambda: heartbeats, 20, "a heartbeat from the alerting process")
        await publisher.publish(request(response_time_ms=45000))
        await wait_for(lambda: len(alerts) == 1, 5, "firing")
        await publisher.publish(request(response_time_ms=900))
        await wait_for(lambda: len(alerts) == 2, 5, "resolved")
        assert [alert["state"] for alert in alerts] == ["firing", "resolved"]
        await wait_for(
            lambda: heartbeats[-1]["counters"].get("alerts_resolved_sent") == 1, 5, "counters"
        )
        assert heartbeats[-1]["counters"]["events_received"] >= 2
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        return_code = await asyncio.wait_for(process.wait(), 15)
        await nc.drain()
    assert return_code == 0
