"""The demo traffic generator sends a varied mix through a URL until cancelled."""

from __future__ import annotations

import asyncio
from collections import Counter

from ollama_emulator.app import create_app
from ollama_emulator.config import demo_config
from ollama_emulator.server import serve_app
from ollama_emulator.traffic import send_traffic
from tests.support.waiting import wait_for


async def test_demo_traffic_mixes_models_successes_and_failures() -> None:
    app = create_app(demo_config().scaled(200))
    stats: Counter[str] = Counter()
    async with serve_app(app) as url:
        task = asyncio.create_task(send_traffic(url, requests_per_second=200, seed=1, stats=stats))
        await wait_for(lambda: stats["ok"] >= 30 and stats["error"] >= 2, timeout=20)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert {"small-generate", "mid-chat", "embed"} <= set(stats)
    assert app.engine.stats["loads"] >= 3
    assert app.engine.stats["status_404"] >= 1 or app.engine.stats["failed"] >= 1


def test_the_demo_has_a_partly_offloaded_model() -> None:
    offloaded = [spec for spec in demo_config().models if spec.vram_bytes < spec.size_bytes]
    assert [spec.name for spec in offloaded] == ["llama3.1:70b"]
