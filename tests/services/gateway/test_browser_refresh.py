"""The dashboard refetches storage's summary while requests keep coming (a refresh that
waited for traffic to settle never came under steady traffic)."""

from __future__ import annotations

import asyncio

from playwright.async_api import expect

from ollamon_core import subjects
from ollamon_core.bus import Bus
from ollamon_core.events import OllamaModelMetrics
from ollamon_gateway.server import AppServer
from tests.services.gateway.chromium import BROWSER_MARKS, DASHBOARD, UI_TIMEOUT_MS, chromium
from tests.services.gateway.stubs import HOST, Responder
from tests.support.waiting import wait_for

pytestmark = BROWSER_MARKS

REQUEST_EVERY_SECONDS = 0.4


async def test_the_summary_is_refetched_under_steady_traffic(
    live_server: AppServer, storage: Responder, publisher: Bus
) -> None:
    async with chromium() as browser:
        page = await browser.new_page()
        await page.goto(f"{live_server.url}{DASHBOARD}")
        await expect(page.locator("#pill-stream")).to_have_text("live", timeout=UI_TIMEOUT_MS)
        asked_at_start = len(storage.asked(subjects.QUERY_SUMMARY))

        async def steady_traffic() -> None:
            while True:
                await publisher.publish(
                    OllamaModelMetrics(host=HOST, model_name="qwen3:8b", response_time_ms=900.0)
                )
                await asyncio.sleep(REQUEST_EVERY_SECONDS)

        traffic = asyncio.create_task(steady_traffic(), name="steady traffic")
        try:
            # A request every 0.4 s, never 1.5 s apart: the summary must still be asked again.
            await wait_for(
                lambda: len(storage.asked(subjects.QUERY_SUMMARY)) >= asked_at_start + 2,
                15,
                "two summary refetches during traffic",
            )
        finally:
            traffic.cancel()
