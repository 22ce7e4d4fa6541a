"""Shared by the scenarios that run storage as a process: wait until it consumes."""

from __future__ import annotations

import asyncio
import time

from ollamon_core import subjects
from ollamon_core.bus import Bus


async def wait_storage_consuming(bus: Bus, timeout_seconds: float) -> None:
    """Return once storage's durable consumer is bound (it has started consuming)."""
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        try:
            info = await bus.js.consumer_info(subjects.STREAM_EVENTS, subjects.STORAGE_DURABLE)
            if info.push_bound:
                return
        except Exception:  # not created yet
            pass
        await asyncio.sleep(0.05)
    raise RuntimeError("storage did not start consuming")
