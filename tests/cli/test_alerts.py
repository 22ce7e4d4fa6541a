"""`ollamon alerts` lists what fires now (storage's answer) before what follows."""

from __future__ import annotations

import asyncio
import contextlib
import io

from ollamon_cli.alerts_tail import tail_alerts
from ollamon_cli.nats_target import NatsTarget
from ollamon_core import subjects
from ollamon_core.events import AlertState, OllamaPerformanceAlert, ServiceName, Severity
from ollamon_core.events.queries import AlertsQuery, AlertsReply
from tests.conftest import BusFactory
from tests.services.gateway.stubs import Responder, firing_alert
from tests.support.waiting import wait_for


async def test_alerts_prints_the_ones_firing_now_then_each_new_one(
    clean_nats_url: str, bus_factory: BusFactory
) -> None:
    already = firing_alert("qwen2.5:72b")
    storage = Responder(await bus_factory(ServiceName.STORAGE))
    await storage.answer(
        subjects.QUERY_ALERTS, lambda query: AlertsReply(alerts=[already], active=[already])
    )
    alerting = await bus_factory(ServiceName.ALERTING)
    out, notes = io.StringIO(), io.StringIO()
    tail = asyncio.create_task(
        tail_alerts(NatsTarget.given(clean_nats_url), None, out, notes=notes)
    )
    try:
        await wait_for(lambda: "following" in notes.getvalue(), 10, "the firing list printed")
        fresh = OllamaPerformanceAlert(
            host="gpu-box",
            alert_type="high_gpu_memory",
            severity=Severity.CRITICAL,
            message="VRAM 97 %",
            state=AlertState.FIRING,
        )
        await alerting.publish(fresh)
        await wait_for(lambda: "high_gpu_memory" in out.getvalue(), 10, "the new alert printed")
    finally:
        tail.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await tail
        await storage.stop()
    lines = out.getvalue().splitlines()
    assert "slow_response" in lines[0]
    assert "qwen2.5:72b" in lines[0]
    assert "high_gpu_memory" in lines[-1]
    assert "firing now: 1" in notes.getvalue()
    asked: list[AlertsQuery] = storage.asked(subjects.QUERY_ALERTS)
    assert asked[0].audit_limit == 0
    assert asked[0].delivery_limit == 0


async def test_alerts_without_storage_says_what_fires_is_unknown_and_follows(
    clean_nats_url: str,
) -> None:
    out, notes = io.StringIO(), io.StringIO()
    tail = asyncio.create_task(
        tail_alerts(NatsTarget.given(clean_nats_url), "high", out, notes=notes)
    )
    try:
        await wait_for(lambda: "following" in notes.getvalue(), 10, "following")
    finally:
        tail.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await tail
    assert "what fires now is unknown" in notes.getvalue()
    assert out.getvalue() == ""
