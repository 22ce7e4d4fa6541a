"""Whether the collector samples, and how often: changed at runtime by control messages."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, replace

from ollamon_core.events import MonitoringAction, MonitoringControl


@dataclass(frozen=True)
class SamplingState:
    """Sampling on or off, and the seconds between samples."""

    running: bool
    interval_seconds: float

    @property
    def label(self) -> str:
        """The heartbeat state: running or paused."""
        return "running" if self.running else "paused"


def apply_control(state: SamplingState, control: MonitoringControl) -> SamplingState:
    """The state after a control message: stop pauses, start resumes, an interval replaces."""
    interval = control.interval_seconds or state.interval_seconds
    return replace(
        state, running=control.action == MonitoringAction.START, interval_seconds=interval
    )


class SamplingSwitch:
    """The live sampling state; the sampling loop waits on it so changes apply at once."""

    def __init__(self, state: SamplingState) -> None:
        self.state = state
        self._changed = asyncio.Event()

    def apply(self, control: MonitoringControl) -> SamplingState:
        """Apply a control message and wake the sampling loop."""
        self.state = apply_control(self.state, control)
        self._changed.set()
        return self.state

    async def wait_for_change(self, timeout_seconds: float | None) -> bool:
        """Wait until the state changes or the timeout passes; True if it changed."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._changed.wait(), timeout_seconds)
        changed = self._changed.is_set()
        self._changed.clear()
        return changed
