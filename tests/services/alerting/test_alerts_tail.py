"""`ollamon alerts` (cli/ollamon_cli/alerts_tail.py) against a real nats-server.

Kept with the alerting tests since the alerting engineer owns the tail.
"""

from __future__ import annotations

import asyncio
import contextlib
import io

import pytest

from ollamon_cli.alerts_tail import alerts_pattern, tail_alerts
from ollamon_cli.nats_target import NatsTarget
from ollamon_core.events import AlertState, OllamaPerformanceAlert, ServiceName, Severity
from tests.conftest import BusFactory
from tests.support.waiting import wait_for


def alert(severity: Severity, state: AlertState = AlertState.FIRING) -> OllamaPerformanceAlert:
    return OllamaPerformanceAlert(
        host="gpu-box",
        alert_type="slow_response",
        severity=severity,
        message="Slow response for llama3.2:1b on gpu-box: 45000 ms (threshold 30000 ms)",
        model_name="llama3.2:1b",
        recommendation="Cap the reply length [num_predict]",
        state=state,
    )


async def test_tail_prints_one_line_per_alert_of_the_chosen_severity(
    clean_nats_url: str, bus_factory: BusFactory
) -> None:
    bus = await bus_factory(ServiceName.ALERTING)
    out = io.StringIO()
    target = NatsTarget.given(clean_nats_url)
    task = asyncio.create_task(tail_alerts(target, "high", out, notes=io.StringIO()))
    try:
        # Keep publishing until the tail has subscribed and printed the first one.
        async def first_line() -> None:
            while not out.getvalue():
                await bus.publish(alert(Severity.HIGH))
                await asyncio.sleep(0.05)

        await asyncio.wait_for(first_line(), 10)
        await bus.publish(alert(Severity.LOW))
        await bus.publish(alert(Severity.HIGH, AlertState.RESOLVED))
        await wait_for(lambda: "RESOLVED" in out.getvalue(), 5, "resolved line")
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    lines = out.getvalue().splitlines()
    assert all(" high " in line for line in lines)
    assert "FIRING" in lines[0]
    assert "gpu-box/llama3.2:1b" in lines[0]
    assert "num_predict" in lines[0]
    assert "RESOLVED" in lines[-1]
    assert "num_predict" not in lines[-1]


def test_tail_pattern_is_every_alert_or_one_severity() -> None:
    assert alerts_pattern(None) == "ollamon.alerts.>"
    assert alerts_pattern("critical") == "ollamon.alerts.critical"
    with pytest.raises(ValueError, match="bogus"):
        alerts_pattern("bogus")
