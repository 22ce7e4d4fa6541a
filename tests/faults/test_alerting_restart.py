"""Alerting killed while alerts fire: after the supervisor restarts it, nothing re-fires and
nothing that was resolving is forgotten.

Request events are published straight onto the bus (as the probe would) so each model's
latency is under the test's control. Two slow-response alerts fire; one model then turns
fast, so its alert is resolving (the resolve wait is running) when alerting is killed with
SIGKILL. After the restart the still-slow model keeps sending slow requests and must not
fire again; the resolving one must resolve without any new data; the slow one, once fast,
must resolve too. Every resolve keeps the firing's `starts_at`.
"""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from pathlib import Path

import nats.js.errors
import pytest
from nats.aio.client import Client as NatsClient

from ollamon_alerting.lifecycle import AlertRecord
from ollamon_alerting.state_store import ALERT_PREFIX
from ollamon_core import subjects
from ollamon_core.bus import encode
from ollamon_core.events import AlertState, OllamaModelMetrics
from tests.faults.observers import AlertLog, service_processes
from tests.faults.stack_under_fault import fault_stack
from tests.support.waiting import wait_for, wait_for_async

pytestmark = pytest.mark.timeout(120)

HOST = "fault-alerts"
STILL_SLOW, RESOLVING = "still-slow:latest", "resolving:latest"
THRESHOLD_MS = 1000.0
SLOW_MS, FAST_MS = 5000.0, 50.0
RESOLVE_SECONDS = 3.0
EVALUATION_INTERVAL_SECONDS = 0.2
QUIET_AFTER_RESTART_SECONDS = 2.0
ALERTING_ENV = {
    "OLLAMON_ALERT_RESPONSE_TIME_MS": str(THRESHOLD_MS),
    "OLLAMON_ALERT_FOR_SECONDS": "0",
    # One request decides (1 of 1): the last request's speed stands until the next one.
    "OLLAMON_ALERT_REQUEST_RULE_BREACHES": "1",
    "OLLAMON_ALERT_REQUEST_RULE_REQUESTS": "1",
    "OLLAMON_ALERT_RESOLVE_SECONDS": str(RESOLVE_SECONDS),
    "OLLAMON_ALERT_EVALUATION_INTERVAL": str(EVALUATION_INTERVAL_SECONDS),
}


async def send_request(nc: NatsClient, model_name: str, response_time_ms: float) -> None:
    """Publish one request event the way the probe does."""
    event = OllamaModelMetrics(host=HOST, model_name=model_name, response_time_ms=response_time_ms)
    await nc.publish(subjects.subject_for(event), encode(event))
    await nc.flush()


async def resolve_wait_stored(nc: NatsClient, fingerprint: str) -> bool:
    """True once alerting's state bucket keeps the alert with its resolve wait started."""
    bucket = await nc.jetstream().key_value(subjects.ALERT_STATE_BUCKET)
    try:
        entry = await bucket.get(ALERT_PREFIX + fingerprint)
    except nats.js.errors.KeyNotFoundError:
        return False
    return AlertRecord.model_validate_json(entry.value or b"").clear_since is not None


def counts(log: AlertLog, model_name: str) -> tuple[int, int]:
    """(firing, resolved) notifications of the slow-response alert of one model."""
    return (
        len(log.of("slow_response", AlertState.FIRING, model_name)),
        len(log.of("slow_response", AlertState.RESOLVED, model_name)),
    )


async def test_alerting_killed_while_alerts_fire_neither_refires_nor_loses_a_resolve(
    tmp_path: Path,
) -> None:
    async with fault_stack(tmp_path, env=ALERTING_ENV) as faults:
        log = faults.alerts
        for model_name in (STILL_SLOW, RESOLVING):
            await send_request(faults.nc, model_name, SLOW_MS)
        await wait_for(
            lambda: counts(log, STILL_SLOW)[0] == 1 and counts(log, RESOLVING)[0] == 1,
            timeout=10,
            message="both alerts firing",
        )
        await send_request(faults.nc, RESOLVING, FAST_MS)
        resolving = log.of("slow_response", AlertState.FIRING, RESOLVING)[0]
        await wait_for_async(
            lambda: resolve_wait_stored(faults.nc, resolving.fingerprint),
            timeout=10,
            message="the resolve wait kept in the state bucket",
        )
        alerting = (await service_processes(faults.stack))["alerting"]
        await asyncio.to_thread(alerting.kill)  # psutil reads /proc first
        killed_at = time.monotonic()

        def restarted() -> bool:
            latest = faults.heartbeats.latest("alerting")
            return latest is not None and latest.pid != alerting.pid

        await wait_for(restarted, timeout=20, message="a heartbeat from the restarted alerting")
        back_after_seconds = time.monotonic() - killed_at
        restored = faults.heartbeats.counter("alerting", "alerts_restored")

        quiet_until = time.monotonic() + QUIET_AFTER_RESTART_SECONDS
        while time.monotonic() < quiet_until:
            await send_request(faults.nc, STILL_SLOW, SLOW_MS)
            await asyncio.sleep(EVALUATION_INTERVAL_SECONDS)
        await wait_for(
            lambda: counts(log, RESOLVING)[1] >= 1,
            timeout=RESOLVE_SECONDS + 5,
            message="the resolve that was pending at the kill",
        )
        await send_request(faults.nc, STILL_SLOW, FAST_MS)
        await wait_for(
            lambda: counts(log, STILL_SLOW)[1] >= 1,
            timeout=RESOLVE_SECONDS + 5,
            message="the still-slow alert resolving after it turned fast",
        )
        # Anything late would show by a heartbeat alerting sent two evaluations later.
        last_resolve = log.of("slow_response", AlertState.RESOLVED, STILL_SLOW)[0]
        later = last_resolve.timestamp + timedelta(seconds=2 * EVALUATION_INTERVAL_SECONDS)
        await wait_for(
            lambda: faults.heartbeats.first_sent_after("alerting", later),
            timeout=5,
            message="a heartbeat two evaluations after the last resolve",
        )

        print(
            f"alerting back {back_after_seconds:.2f} s after SIGKILL, {restored:.0f} alert "
            f"records restored; notifications (firing, resolved): {STILL_SLOW} "
            f"{counts(log, STILL_SLOW)}, {RESOLVING} {counts(log, RESOLVING)}"
        )
        assert restored >= 2  # both alerts (other rules may hold pending records)
        for model_name in (STILL_SLOW, RESOLVING):
            assert counts(log, model_name) == (1, 1)
            firing = log.of("slow_response", AlertState.FIRING, model_name)[0]
            resolved = log.of("slow_response", AlertState.RESOLVED, model_name)[0]
            assert resolved.fingerprint == firing.fingerprint
            assert resolved.starts_at == firing.starts_at
