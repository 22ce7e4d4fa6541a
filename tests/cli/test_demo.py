"""`ollamon demo`: the stack, the emulator and traffic come up together and data flows, into
the demo's own data folder."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from ollamon_cli.nats_server import free_port
from tests.support.stack import launch, stop_stack
from tests.support.waiting import wait_for_async

pytestmark = pytest.mark.timeout(120)


async def test_the_demo_sends_traffic_for_several_models_through_the_proxy(
    tmp_path: Path,
) -> None:
    emulator_port = free_port()
    stack = await asyncio.to_thread(
        launch,
        ("demo", "--emulator-port", str(emulator_port), "--rate", "8"),
        tmp_path / "data",
        f"http://127.0.0.1:{emulator_port}",
    )
    try:

        async def several_models_measured() -> bool:
            async with httpx.AsyncClient() as http:
                summary = (
                    await http.get(stack.gateway_url + "/api/ai/ollama/performance/summary")
                ).json()
            measured = [m for m in summary["models"] if m["request_count"] > 0]
            return len(measured) >= 3

        await wait_for_async(several_models_measured, timeout=60, message="demo traffic")
        async with httpx.AsyncClient() as http:
            lifecycle = (
                await http.get(stack.gateway_url + "/api/ai/ollama/performance/lifecycle")
            ).json()
        assert lifecycle["events"], "the emulator's models were loaded and seen by the watcher"
    finally:
        await asyncio.to_thread(stop_stack, stack)
    assert stack.process.returncode == 0
    data = tmp_path / "data"
    assert f"data in {data / 'demo'}" in stack.text()
    databases = await asyncio.to_thread(lambda: sorted(data.rglob("ollamon.db")))
    assert databases == [data / "demo" / "ollamon.db"], "the demo keeps its own database"
