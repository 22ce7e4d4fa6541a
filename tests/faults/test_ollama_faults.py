"""Ollama stopped, answering 500s, and dropping streams mid-way, under steady traffic.

For each fault: the matching alert fires within two intervals of the fault starting, the
proxy's clients get what Ollama-style clients expect (a 502 `{"error": ...}` naming Ollama
when it is down, Ollama's own 500 `{"error": ...}` passed through, a stream that breaks as
Ollama's broke), no service crashes, and once Ollama recovers the alert resolves. Each fault
uses its own model so one fault's failed requests do not colour the next one's alert.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from ollama_emulator.config import EmulatorConfig, ModelSpec
from ollamon_core.events import AlertState
from tests.faults.faulty_ollama import SERVER_ERROR_MESSAGE, Fault
from tests.faults.observers import SERVICES, SteadyTraffic, restarts_reported, service_pids
from tests.faults.stack_under_fault import FaultStack, fault_stack
from tests.support.waiting import wait_for

pytestmark = pytest.mark.timeout(150)

INTERVAL_SECONDS = 1.0  # the probe's polls and the alert evaluations
FIRE_LIMIT_SECONDS = 2 * INTERVAL_SECONDS
RESOLVE_TIMEOUT_SECONDS = 15.0
WARM_UP_SECONDS = 1.5
REQUESTS_PER_SECOND = 10.0
STOPPED_MODEL, ERRORS_MODEL, DROPS_MODEL = "stop:latest", "errors:latest", "drops:latest"
FAULT_ENV = {
    "OLLAMA_MONITORING_INTERVAL": str(INTERVAL_SECONDS),
    "OLLAMON_ALERT_EVALUATION_INTERVAL": str(INTERVAL_SECONDS),
    "OLLAMON_ALERT_FOR_SECONDS": "0",
    "OLLAMON_ALERT_RESOLVE_SECONDS": "1",
    "OLLAMON_ALERT_MIN_REQUESTS": "5",
    "OLLAMON_ALERT_WINDOW_SECONDS": "3",
}


def emulator_config() -> EmulatorConfig:
    return EmulatorConfig(
        models=[ModelSpec(name=name) for name in (STOPPED_MODEL, ERRORS_MODEL, DROPS_MODEL)]
    )


async def fires_then_resolves(
    faults: FaultStack,
    alert: tuple[str, str | None],
    fault_started_at: float,
    recover: Callable[[], Awaitable[None]],
) -> tuple[float, float]:
    """Seconds from the fault to the firing alert, and from recovery to the resolved one.

    `alert` is (alert_type, model_name), model_name None for host-wide rules.
    """
    log = faults.alerts
    await wait_for(
        lambda: (
            log.first_arrival(alert[0], AlertState.FIRING, fault_started_at, alert[1]) is not None
        ),
        timeout=FIRE_LIMIT_SECONDS * 5,
        message=f"{alert} firing",
    )
    fired_at = log.first_arrival(alert[0], AlertState.FIRING, fault_started_at, alert[1])
    assert fired_at is not None
    recovered_at = time.monotonic()
    await recover()
    await wait_for(
        lambda: (
            log.first_arrival(alert[0], AlertState.RESOLVED, recovered_at, alert[1]) is not None
        ),
        timeout=RESOLVE_TIMEOUT_SECONDS,
        message=f"{alert} resolved",
    )
    resolved_at = log.first_arrival(alert[0], AlertState.RESOLVED, recovered_at, alert[1])
    assert resolved_at is not None
    return fired_at - fault_started_at, resolved_at - recovered_at


async def with_traffic(faults: FaultStack, model: str, *, stream: bool = False) -> SteadyTraffic:
    traffic = SteadyTraffic(
        faults.stack.proxy_url, model=model, requests_per_second=REQUESTS_PER_SECOND, stream=stream
    )
    traffic.start()
    await asyncio.sleep(WARM_UP_SECONDS)
    return traffic


async def test_ollama_stopped_erroring_and_dropping_streams_alerts_and_recovers(
    tmp_path: Path,
) -> None:
    async with fault_stack(tmp_path, config=emulator_config(), env=FAULT_ENV) as faults:
        pids_before = await service_pids(faults.stack)
        figures: dict[str, tuple[float, float]] = {}
        outcomes: dict[str, Counter[str]] = {}

        # Ollama stopped: the probe's poll fails; the proxy answers 502 with Ollama's error shape.
        traffic = await with_traffic(faults, STOPPED_MODEL)
        # The fault starts as the stop begins: closing the server can take a while on a busy
        # machine, and an alert that fires meanwhile is this fault's alert all the same.
        stopped_at = time.monotonic()
        await faults.ollama.stop()

        async def restart_ollama() -> None:
            await faults.ollama.start()

        figures["stopped"] = await fires_then_resolves(
            faults, ("ollama_unreachable", None), stopped_at, restart_ollama
        )
        await traffic.stop()
        outcomes["stopped"] = traffic.outcomes
        assert traffic.outcomes["502"] > 0
        assert all("could not reach Ollama" in str(body["error"]) for body in traffic.error_bodies)

        # Ollama answering 500s: passed through as they are; the success rate collapses.
        traffic = await with_traffic(faults, ERRORS_MODEL)
        faults.ollama.set_fault(Fault.SERVER_ERROR)

        async def stop_errors() -> None:
            faults.ollama.set_fault(Fault.NONE)

        figures["500s"] = await fires_then_resolves(
            faults, ("low_success_rate", ERRORS_MODEL), time.monotonic(), stop_errors
        )
        await traffic.stop()
        outcomes["500s"] = traffic.outcomes
        assert traffic.outcomes["500"] > 0
        assert {body["error"] for body in traffic.error_bodies} == {SERVER_ERROR_MESSAGE}

        # Streams dropped mid-way: the client sees the stream break; the request counts as failed.
        upstream_errors_before = faults.heartbeats.counter("probe", "upstream_errors")
        traffic = await with_traffic(faults, DROPS_MODEL, stream=True)
        faults.ollama.set_fault(Fault.DROP_STREAM)
        figures["dropped streams"] = await fires_then_resolves(
            faults, ("low_success_rate", DROPS_MODEL), time.monotonic(), stop_errors
        )
        await traffic.stop()
        outcomes["dropped streams"] = traffic.outcomes
        broken = sum(count for outcome, count in traffic.outcomes.items() if not outcome.isdigit())
        assert broken > 0, traffic.outcomes
        await wait_for(
            lambda: faults.heartbeats.counter("probe", "upstream_errors") > upstream_errors_before,
            timeout=5,
            message="the probe counting the broken streams",
        )

        for fault, (fire_seconds, resolve_seconds) in figures.items():
            print(
                f"{fault}: alert fired {fire_seconds:.2f} s after the fault (limit "
                f"{FIRE_LIMIT_SECONDS:.1f} s), resolved {resolve_seconds:.2f} s after recovery; "
                f"clients got {dict(outcomes[fault])}"
            )
        assert all(fire <= FIRE_LIMIT_SECONDS for fire, _ in figures.values())
        assert restarts_reported(faults.stack) == []
        pids_after = await service_pids(faults.stack)
        assert pids_after == pids_before
        assert set(pids_after) == set(SERVICES)
