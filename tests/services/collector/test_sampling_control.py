"""Control messages: stop pauses, start resumes, an interval replaces the old one."""

from __future__ import annotations

import asyncio

from ollamon_collector.sampling_control import SamplingState, SamplingSwitch, apply_control
from ollamon_core.events import MonitoringAction, MonitoringControl

RUNNING = SamplingState(running=True, interval_seconds=5.0)


def test_stop_pauses_and_keeps_the_interval() -> None:
    state = apply_control(RUNNING, MonitoringControl(action=MonitoringAction.STOP))
    assert state == SamplingState(running=False, interval_seconds=5.0)
    assert state.label == "paused"


def test_start_resumes_with_a_new_interval_when_given() -> None:
    paused = SamplingState(running=False, interval_seconds=5.0)
    state = apply_control(
        paused, MonitoringControl(action=MonitoringAction.START, interval_seconds=1.0)
    )
    assert state == SamplingState(running=True, interval_seconds=1.0)
    assert state.label == "running"


def test_start_without_an_interval_keeps_the_current_one() -> None:
    state = apply_control(RUNNING, MonitoringControl(action=MonitoringAction.START))
    assert state == RUNNING


async def test_the_switch_wakes_a_waiter_when_a_control_arrives() -> None:
    switch = SamplingSwitch(RUNNING)
    waiter = asyncio.create_task(switch.wait_for_change(10.0))
    await asyncio.sleep(0)
    switch.apply(MonitoringControl(action=MonitoringAction.STOP))
    assert await asyncio.wait_for(waiter, 2.0) is True
    assert switch.state.running is False


async def test_the_switch_wait_returns_false_after_its_timeout_without_a_change() -> None:
    assert await SamplingSwitch(RUNNING).wait_for_change(0.01) is False
