"""The dashboard in a real headless Chromium: live requests and alerts appear, data stays text."""

from __future__ import annotations

import asyncio
from pathlib import Path

from litestar import Litestar
from playwright.async_api import expect

from ollamon_core import subjects
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
from tests.services.gateway.chromium import BROWSER_MARKS, DASHBOARD, UI_TIMEOUT_MS, chromium
from tests.services.gateway.conftest import gateway_of
from tests.services.gateway.stubs import HOST, Responder, firing_alert, system_sample

HOSTILE_MODEL = '<img src=x onerror="window.__xss=1">:latest'

pytestmark = BROWSER_MARKS


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
    async with chromium() as browser:
        page = await browser.new_page(viewport={"width": 1440, "height": 1000})
        page_errors: list[str] = []
        page.on("pageerror", lambda error: page_errors.append(str(error)))
        await page.goto(f"{live_server.url}{DASHBOARD}")
        await expect(page.locator("#pill-stream")).to_have_text("live", timeout=UI_TIMEOUT_MS)
        await expect(page.locator("#models-table tbody tr")).to_have_count(2, timeout=UI_TIMEOUT_MS)

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
    assert (await asyncio.to_thread(screenshot.stat)).st_size > 10_000


def cross_site_form(action: str) -> str:
    """Another site's page that makes the browser POST a plain-text form to `action`."""
    return (
        f'<form method="post" enctype="text/plain" action="{action}">'
        '<input name="anything" value="x"></form>'
        "<script>document.forms[0].submit()</script>"
    )


async def test_the_dashboard_buttons_work_and_another_site_s_form_is_refused(
    live_server: AppServer, app: Litestar, storage: Responder, probe: Responder
) -> None:
    async with chromium() as browser:
        page = await browser.new_page()
        await page.goto(f"{live_server.url}{DASHBOARD}")
        await expect(page.locator("#pill-stream")).to_have_text("live", timeout=UI_TIMEOUT_MS)
        result = page.locator("#control-result")

        await page.locator("#stop").click()
        await expect(result).to_have_text("Monitoring stopped.", timeout=UI_TIMEOUT_MS)
        assert gateway_of(app).live.monitoring_status.active is False
        await page.locator("#form-monitoring button[data-action=start]").click()
        await expect(result).to_have_text("Monitoring every 5 s.", timeout=UI_TIMEOUT_MS)
        async with page.expect_download():
            await page.locator("#form-export button").click()
        await expect(result).to_contain_text("Exported 175 rows", timeout=UI_TIMEOUT_MS)
        page.once("dialog", lambda dialog: dialog.accept())  # Clean up asks first
        await page.locator("#form-cleanup button").click()
        await expect(result).to_have_text(
            "Deleted 0 rows older than 30 days.", timeout=UI_TIMEOUT_MS
        )
        assert len(storage.asked(subjects.QUERY_EXPORT)) == 1
        assert len(storage.asked(subjects.QUERY_CLEANUP)) == 1

        # Another site's page posts a form to the gateway: the browser sends it (with
        # its cookies, were there any), the gateway refuses it.
        stop_url = f"{live_server.url}/api/ai/ollama/performance/monitoring/stop"
        await page.route(
            "http://evil.example/**",
            lambda route: route.fulfill(content_type="text/html", body=cross_site_form(stop_url)),
        )
        await page.goto("http://evil.example/")
        await page.wait_for_url(stop_url, timeout=UI_TIMEOUT_MS)
        await expect(page.locator("body")).to_contain_text("cross-origin request refused")
        assert gateway_of(app).live.monitoring_status.active is True
