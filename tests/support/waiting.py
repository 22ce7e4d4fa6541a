"""Waiting for asynchronous conditions with a bound, never a bare sleep."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable


async def wait_for(
    condition: Callable[[], object], timeout: float = 5.0, message: str = "condition"
) -> None:
    """Poll `condition` until truthy; fail with `message` after `timeout` seconds."""

    async def check() -> object:
        return condition()

    await wait_for_async(check, timeout, message, pause_seconds=0.01)


async def wait_for_async(
    condition: Callable[[], Awaitable[object]],
    timeout: float = 5.0,
    message: str = "condition",
    pause_seconds: float = 0.05,
) -> object:
    """Like wait_for with an async condition; returns its first truthy result."""
    deadline = time.monotonic() + timeout
    while True:
        result = await condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"{message} not met within {timeout}s")
        await asyncio.sleep(pause_seconds)


async def collect(target: list[object], event: object, _msg: object = None) -> None:
    """A bus handler that keeps what it receives."""
    target.append(event)


def wait_until(
    condition: Callable[[], object], timeout: float = 5.0, message: str = "condition"
) -> None:
    """`wait_for` for plain (non-async) tests: poll `condition` until truthy, with a bound."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{message} not met within {timeout}s")
        time.sleep(0.05)
