"""Two hosts in a real Chromium: listed apart, charted apart, compared side by side.

The issue's repro: with two hosts the host panel joined both hosts' samples into one line
(memory jumping between 11 % and 50 %) under the last host's name, and the models table
had one row per model name.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from urllib.parse import urlencode

import pytest
from playwright.async_api import Page, expect

from ollamon_core import subjects
from ollamon_core.bus import Bus
from ollamon_core.events import OllamaSystemMetrics
from ollamon_gateway.server import AppServer
from tests.services.gateway.chromium import BROWSER_MARKS, DASHBOARD, UI_TIMEOUT_MS, chromium
from tests.services.gateway.fleet_stubs import (
    HOST_A,
    HOST_B,
    HOSTS,
    ONLY_B_MODEL,
    SHARED_MODEL,
    host_sample,
    serve_fleet_storage,
)
from tests.services.gateway.stubs import Responder

pytestmark = BROWSER_MARKS


@pytest.fixture
async def fleet_storage(responder: Responder) -> Responder:
    """Storage answering for two hosts."""
    await serve_fleet_storage(responder)
    return responder


MEMORY = "#chart-memory"


async def expect_memory_series(page: Page, *hosts: str) -> None:
    """Wait until the memory chart draws exactly `hosts`' series (`data-series`: host:points)."""
    names = " ".join(rf"{re.escape(host)}:\d+" for host in hosts)
    await expect(page.locator(MEMORY)).to_have_attribute(
        "data-series", re.compile(rf"^{names}$"), timeout=UI_TIMEOUT_MS
    )


async def points_of(page: Page, host: str) -> int:
    """How many points the memory chart draws for `host`."""
    series = await page.locator(MEMORY).get_attribute("data-series") or ""
    counts = dict(entry.rsplit(":", 1) for entry in series.split())
    return int(counts.get(host, 0))


async def levels(page: Page) -> list[set[float]]:
    """Each series' distinct values in the memory chart (the samples it has, not the gaps)."""
    columns = await page.evaluate("ollamon.chartData('chart-memory').slice(1)")
    return [{value for value in column if value is not None} for column in columns]


async def open_dashboard(page: Page, server: AppServer, query: str = "") -> None:
    """The dashboard, once its stream is live."""
    await page.goto(f"{server.url}{DASHBOARD}{query}")
    await expect(page.locator("#pill-stream")).to_have_text("live", timeout=UI_TIMEOUT_MS)


async def test_two_hosts_are_listed_charted_and_compared_apart(
    live_server: AppServer, fleet_storage: Responder, publisher: Bus, tmp_path: Path
) -> None:
    async with chromium() as browser:
        page = await browser.new_page(viewport={"width": 1440, "height": 1100})
        page_errors: list[str] = []
        page.on("pageerror", lambda error: page_errors.append(str(error)))
        await open_dashboard(page, live_server)
        for host in HOSTS:
            await publisher.publish(host_sample(host))

        await expect(page.locator("#host-select option")).to_have_text(
            [re.compile("all hosts"), HOST_A, HOST_B], timeout=UI_TIMEOUT_MS
        )
        # One line per host, each at its own level: no point of one host joins the other's.
        await expect_memory_series(page, HOST_A, HOST_B)
        assert [len(values) for values in await levels(page)] == [1, 1]
        await expect(page.locator("#host-legend .legend")).to_have_text([HOST_A, HOST_B])
        await expect(page.locator("#host-label")).to_have_text("2 hosts")
        # The models table is keyed by (host, model): the shared model once per host.
        shared_rows = page.locator(f'#models-table tbody tr[data-model="{SHARED_MODEL}"]')
        await expect(shared_rows).to_have_count(2)
        await expect(page.locator("#hosts-table-body tr")).to_have_count(2)
        await expect(page.locator("#fleet-rollup")).to_contain_text("2 requests bypassed the proxy")
        # The comparison: the shared model on both hosts, p50/p95/TTFT p95/tok/s/score.
        compare = page.locator("#compare-body tr")
        await expect(compare).to_have_count(2)
        await expect(compare.nth(0)).to_have_text(
            re.compile(rf"{HOST_A}\s*40\s*400 ms\s*900 ms\s*120 ms\s*61\.5\s*8\.8")
        )
        await expect(compare.nth(1)).to_have_text(
            re.compile(rf"{HOST_B}\s*25\s*1\.50 s\s*4\.20 s\s*650 ms\s*14\.2\s*4\.1")
        )
        await expect(compare.nth(0).locator("td.best")).to_have_count(5)
        await page.screenshot(path=str(tmp_path / "fleet.png"), full_page=True)

        await page.locator("#host-select").select_option(HOST_A)
        await expect(page).to_have_url(re.compile(rf"\?host={HOST_A}$"))
        await expect_memory_series(page, HOST_A)
        drawn = await points_of(page, HOST_A)
        # B's live sample is left out; A's, published after it, is drawn.
        await publisher.publish(host_sample(HOST_B))
        await publisher.publish(host_sample(HOST_A))
        await expect(page.locator(MEMORY)).to_have_attribute(
            "data-series", f"{HOST_A}:{drawn + 1}", timeout=UI_TIMEOUT_MS
        )
        await expect(page.locator("#host-label")).to_have_text(HOST_A)
        await expect(page.locator("#models-table tbody tr")).to_have_count(1)
        await expect(page.locator("#models-table tbody tr")).to_have_attribute("data-host", HOST_A)
        # The comparison still spans both hosts, the chosen one marked.
        await expect(compare).to_have_count(2)
        await expect(page.locator("#compare-body tr.chosen")).to_have_attribute("data-host", HOST_A)
        asked = fleet_storage.asked
        assert asked(subjects.QUERY_SUMMARY)[-1].host == HOST_A
        assert asked(subjects.QUERY_SYSTEM_HISTORY)[-1].host == HOST_A
        assert asked(subjects.QUERY_ALERTS)[-1].host == HOST_A
        assert asked(subjects.QUERY_TRENDS)[-1].host == HOST_A
        assert asked(subjects.QUERY_LIFECYCLE)[-1].host == HOST_A
        await page.screenshot(path=str(tmp_path / "host-a.png"), full_page=True)
        assert page_errors == []
    for name in ("fleet.png", "host-a.png"):
        assert (await asyncio.to_thread((tmp_path / name).stat)).st_size > 10_000


async def test_a_link_opens_on_its_host_and_compared_model_and_back_goes_back(
    live_server: AppServer, fleet_storage: Responder
) -> None:
    async with chromium() as browser:
        page = await browser.new_page()
        await open_dashboard(page, live_server, f"?host={HOST_B}")
        await expect(page.locator("#host-select")).to_have_value(HOST_B)
        await expect_memory_series(page, HOST_B)

        await page.locator("#host-select").select_option("")
        await expect_memory_series(page, HOST_A, HOST_B)
        await page.go_back()
        await expect(page.locator("#host-select")).to_have_value(HOST_B)
        await expect_memory_series(page, HOST_B)

        # The compared model is in the address too.
        await open_dashboard(page, live_server, f"?compare={ONLY_B_MODEL}")
        await expect(page.locator("#compare-model")).to_have_value(ONLY_B_MODEL)
        await expect(page.locator("#compare-body tr")).to_have_count(1, timeout=UI_TIMEOUT_MS)
        await expect(page.locator("#compare-body tr")).to_have_attribute("data-host", HOST_B)
        await page.locator("#compare-model").select_option(SHARED_MODEL)
        compare_query = re.escape(urlencode({"compare": SHARED_MODEL}))
        await expect(page).to_have_url(re.compile(rf"\?{compare_query}$"))
        await expect(page.locator("#compare-body tr")).to_have_count(2)


async def test_an_unknown_host_in_the_link_names_the_host_in_the_banner(
    live_server: AppServer, fleet_storage: Responder
) -> None:
    async with chromium() as browser:
        page = await browser.new_page()
        await open_dashboard(page, live_server, "?host=gone-host")
        await expect(page.locator("#banner")).to_contain_text("gone-host", timeout=UI_TIMEOUT_MS)
        await expect(page.locator("#host-select")).to_have_value("gone-host")


async def test_a_host_first_heard_on_the_stream_joins_the_selector_and_the_charts(
    live_server: AppServer, fleet_storage: Responder, publisher: Bus
) -> None:
    newcomer = "gpu-new"
    async with chromium() as browser:
        page = await browser.new_page()
        await open_dashboard(page, live_server)
        await expect_memory_series(page, HOST_A, HOST_B)
        await publisher.publish(
            OllamaSystemMetrics(
                host=newcomer,
                cpu_usage_percent=5.0,
                memory_usage_percent=80.0,
                memory_available_gb=4.0,
                disk_usage_percent=10.0,
            )
        )
        await expect(page.locator("#host-select option")).to_have_text(
            [re.compile(r"all hosts \(3\)"), HOST_A, HOST_B, newcomer], timeout=UI_TIMEOUT_MS
        )
        await expect_memory_series(page, HOST_A, HOST_B, newcomer)
