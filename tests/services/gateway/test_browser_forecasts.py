"""The dashboard's Forecasts card in a real Chromium: each resource with its rate and time to
full, soonest first, the one within its rule's lead time marked; then through the real
storage, from samples of a disk that fills.

Set OLLAMON_SCREENSHOT_DIR to keep the card's screenshots
(docs/screenshots/dashboard-forecasts.png is the second test's).
"""

from __future__ import annotations

import asyncio
import os
import shutil
from datetime import timedelta
from pathlib import Path

from playwright.async_api import expect

from ollamon_alerting.service import AlertingService
from ollamon_core import subjects
from ollamon_core.bus import QueryFailedError
from ollamon_core.events import OllamaSystemMetrics, ServiceName, utc_now
from ollamon_core.events.forecast_queries import ForecastsQuery, ForecastsReply
from ollamon_core.events.system import DiskUsageSample
from ollamon_gateway.server import AppServer
from ollamon_storage.service import running_storage
from tests.conftest import BusFactory
from tests.services.gateway.chromium import BROWSER_MARKS, DASHBOARD, UI_TIMEOUT_MS, chromium
from tests.services.gateway.forecast_stubs import DISK_SUMMARY
from tests.services.gateway.stubs import Responder
from tests.services.storage.conftest import make_settings, wait_for_ready
from tests.support.waiting import wait_for_async

pytestmark = BROWSER_MARKS

GB = 10**9


async def keep(card: Path, name: str) -> None:
    folder = os.environ.get("OLLAMON_SCREENSHOT_DIR")
    if folder:
        await asyncio.to_thread(shutil.copy, card, Path(folder) / name)


async def test_the_card_lists_each_resource_soonest_first_and_marks_the_one_within_its_lead(
    live_server: AppServer, storage: Responder, alerting: AlertingService, tmp_path: Path
) -> None:
    async with chromium() as browser:
        page = await browser.new_page(viewport={"width": 1440, "height": 1000})
        page_errors: list[str] = []
        page.on("pageerror", lambda error: page_errors.append(str(error)))
        await page.goto(f"{live_server.url}{DASHBOARD}")
        rows = page.locator("#forecasts-body tr")
        await expect(rows).to_have_count(3, timeout=UI_TIMEOUT_MS)
        vram, disk, memory = rows.nth(0), rows.nth(1), rows.nth(2)
        await expect(vram).to_contain_text("GPU 0 (NVIDIA H200)")
        await expect(vram.locator("td.full-in")).to_have_text(
            "~40 minutes (~37 minutes\u2013~45 minutes)"
        )
        await expect(vram).to_contain_text("30.0 GB/hour")
        await expect(disk).to_contain_text("disk /")
        await expect(disk).to_contain_text("481.0 of 500.0 GB (96 %)")
        await expect(disk).to_contain_text("2.1 GB/day")
        await expect(disk.locator("td.full-in")).to_have_text("~9 days (~9 days\u2013~10 days)")
        assert await disk.get_attribute("title") == DISK_SUMMARY
        await expect(memory.locator("td.full-in")).to_have_text("not filling")
        await expect(page.locator("#forecasts-summary")).to_have_text("2 of 3 filling")
        # Alerting's thresholds: VRAM within its 60 minutes, the disk outside its 168 hours.
        await expect(vram.locator("td.full-in")).to_have_class("n warn full-in")
        await expect(disk.locator("td.full-in")).to_have_class("n full-in")
        assert storage.asked(subjects.QUERY_FORECASTS) == [ForecastsQuery()]
        card = tmp_path / "forecasts.png"
        await page.locator("#forecasts-card").screenshot(path=str(card))
        assert page_errors == []
    await keep(card, "dashboard-forecasts-stand-ins.png")


async def test_the_card_shows_the_real_storage_s_forecast_of_a_filling_disk(
    live_server: AppServer, clean_nats_url: str, bus_factory: BusFactory, tmp_path: Path
) -> None:
    settings = make_settings(tmp_path / "data", clean_nats_url)
    async with running_storage(settings):
        await wait_for_ready(settings)
        collector = await bus_factory(ServiceName.COLLECTOR)
        start = utc_now() - timedelta(minutes=90)
        for minute in range(91):  # 30.5 GB free at the end, 5 GB more each hour: 6.1 hours
            used = 462 * GB + 5 * GB * minute // 60
            await collector.publish_persistent(
                OllamaSystemMetrics(
                    host="gpu-a",
                    timestamp=start + timedelta(minutes=minute),
                    cpu_usage_percent=5.0,
                    memory_usage_percent=40.0,
                    memory_available_gb=9.6,
                    memory_total_gb=16.0,
                    disk_usage_percent=100 * used / (500 * GB),
                    disks=[DiskUsageSample(mount="/", used_bytes=used, total_bytes=500 * GB)],
                )
            )

        async def all_stored() -> ForecastsReply | None:
            try:
                reply = await collector.request(
                    subjects.QUERY_FORECASTS, ForecastsQuery(host="gpu-a")
                )
            except QueryFailedError:
                return None
            disk = [item for item in reply.forecasts if item.resource == "/"]
            return reply if disk and disk[0].points >= 90 else None

        await wait_for_async(all_stored, timeout=15, message="90 minutes of samples stored")
        async with chromium() as browser:
            page = await browser.new_page(viewport={"width": 1440, "height": 1000})
            page_errors: list[str] = []
            page.on("pageerror", lambda error: page_errors.append(str(error)))
            await page.goto(f"{live_server.url}{DASHBOARD}?host=gpu-a")
            disk = page.locator('#forecasts-body tr[data-resource="/"]')
            await expect(disk).to_contain_text("120.0 GB/day", timeout=UI_TIMEOUT_MS)
            await expect(disk.locator("td.full-in")).to_contain_text("~6 hours")
            assert await disk.get_attribute("title") == "disk / full in ~6 hours at 120.0 GB/day"
            memory = page.locator('#forecasts-body tr[data-resource="memory"]')
            await expect(memory.locator("td.full-in")).to_have_text("not filling")
            card = tmp_path / "forecasts.png"
            await page.locator("#forecasts-card").screenshot(path=str(card))
            assert page_errors == []
    await keep(card, "dashboard-forecasts.png")
