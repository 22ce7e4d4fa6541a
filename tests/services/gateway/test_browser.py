"""The dashboard in a real headless Chromium: live requests and alerts appear, data stays text."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from playwright.async_api import async_playwright, expect

from ollamon_core.bus import Bus
from ollamon_core.events import (
    Heartbeat,
    OllamaHealth,
    OllamaModelMetrics,
    ServiceName,
    Severity,
    utc_now,
)
from ollamon_gateway.server import AppServer
from tests.services.gateway.stubs import HOST, Responder, firing_alert, system_sample

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
HOSTILE_MODEL = '<img src=x onerror="window.__xss=1">:latest'
UI_TIMEOUT_MS = 10_000

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium"
    ),
]


async def publish_stack_liveness(publisher: Bus) -> None:
    """What a running stack sends on its own: heartbeats, Ollama health, host samples."""
    now = utc_now()
    for service in ServiceName:
        await publisher.publish(
            Heartbeat(host=HOST, service=service, version="0.1.0", pid=100, started_at=now)
        )
    await publisher.publish(
        OllamaHealth(host=HOST, ollama_url="http://127.0.0.1:11434", up=True, version="0.12.3")
    )
    await publisher.publish(system_sample(cpu=52.0))


async def test_live_requests_and_alerts_appear_and_model_names_stay_text(
    live_server: AppServer, storage: Responder, probe: Responder, publisher: Bus, tmp_path: Path
) -> None:
    screenshot = tmp_path / "dashboard.png"
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        try:
            page = await browser.new_page(viewport={"width": 1440, "height": 1000})
            page_errors: list[str] = []
            page.on("pageerror", lambda error: page_errors.append(str(error)))
            await page.goto(f"{live_server.url}/ollama-performance-dashboard")
            await expect(page.locator("#pill-stream")).to_have_text("live", timeout=UI_TIMEOUT_MS)
            await expect(page.locator("#models-table tbody tr")).to_have_count(
                2, timeout=UI_TIMEOUT_MS
            )

            await publish_stack_liveness(publisher)
            await expect(page.locator("#services .svc.ok")).to_have_count(
                len(ServiceName), timeout=UI_TIMEOUT_MS
            )
            await expect(page.locator("#pill-ollama")).to_contain_text("0.12.3")

            request = OllamaModelMetrics(
                host=HOST,
                model_name="qwen3:8b",
                response_time_ms=1234.0,
                tokens_per_second=38.2,
            )
            await publisher.publish(request)
            await expect(page.locator("#feed li").first).to_contain_text(
                "qwen3:8b", timeout=UI_TIMEOUT_MS
            )

            alert = firing_alert("qwen3:8b").model_copy(
                update={
                    "fingerprint": "slow_response:qwen3:8b",
                    "severity": Severity.CRITICAL,
                    "message": "qwen3:8b took 95.0 s (threshold 30 s)",
                }
            )
            await publisher.publish(alert)
            active = page.locator("#alerts-active")
            await expect(active).to_contain_text("qwen3:8b took 95.0 s", timeout=UI_TIMEOUT_MS)
            await expect(active.locator(".sev-critical").first).to_be_visible()
            await expect(active).to_contain_text("lower num_ctx")

            await page.screenshot(path=str(screenshot), full_page=True)

            await publisher.publish(
                OllamaModelMetrics(host=HOST, model_name=HOSTILE_MODEL, response_time_ms=5.0)
            )
            await expect(page.locator("#feed li").first).to_contain_text(
                HOSTILE_MODEL, timeout=UI_TIMEOUT_MS
            )
            assert await page.locator("img").count() == 0
            assert await page.evaluate("window.__xss") is None
            assert page_errors == []
        finally:
            await browser.close()
    assert (await asyncio.to_thread(screenshot.stat)).st_size > 10_000
