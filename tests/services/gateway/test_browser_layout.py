"""The dashboard at desktop and phone sizes in a real Chromium: nothing widens the page, the
uPlot charts show time and value axes, the host charts' range is asked of storage, and the
"Loaded now" panel shows the probe's latest models snapshot.

Set OLLAMON_SCREENSHOT_DIR to keep the desktop and phone screenshots there
(docs/screenshots/ holds the ones the README shows).
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
from datetime import timedelta
from pathlib import Path

from litestar import Litestar
from playwright.async_api import Page, ViewportSize, expect

from ollamon_alerting.service import AlertingService
from ollamon_core import subjects
from ollamon_core.bus import Bus
from ollamon_core.events import (
    LoadedModel,
    OllamaModelMetrics,
    OllamaModelsSnapshot,
    utc_now,
)
from ollamon_core.events import queries as q
from ollamon_gateway.server import AppServer
from tests.services.gateway.chromium import BROWSER_MARKS, DASHBOARD, UI_TIMEOUT_MS, chromium
from tests.services.gateway.conftest import gateway_of
from tests.services.gateway.stubs import (
    HOST,
    OLLAMA_URL,
    Responder,
    firing_alert,
    lifecycle_reply,
    model_metrics_reply,
    model_summary,
    summary_reply,
    system_sample,
    trends_reply,
)
from tests.services.gateway.test_browser import publish_stack_liveness
from tests.support.waiting import wait_for_async

pytestmark = BROWSER_MARKS

DESKTOP = ViewportSize(width=1440, height=1000)
PHONES = [ViewportSize(width=390, height=844), ViewportSize(width=360, height=780)]
LONG_ERROR = (
    "upstream answered 500: "
    + "llama runner process has terminated: CUDA error out of memory " * 12
    + "x" * 400
)
MANY_MODELS = [f"hf.co/some-org/a-rather-long-model-name-{n}-GGUF:Q4_K_M" for n in range(12)]
GIB = 1024**3

# What the axes and panels show (the locale's clock may add seconds: none asked here).
CLOCK = re.compile(r"\b\d\d:\d\d\b")
PERCENT = re.compile(r"^0%( \d+%)+$")
DURATION = re.compile(r"\d+(\.\d+)? s")
DAY_AND_CLOCK = re.compile(r"[A-Z][a-z]{2} \d{1,2} \d\d:\d\d")
RANGE_7D = re.compile(r"[?&]range=10080")
FOUR_MINUTES = re.compile(r"^expires in (4|5) min$")


def many_models_summary() -> q.SummaryReply:
    """The stand-in summary with twelve more models of long names."""
    extra = [
        model_summary(name, 10 + n, 900.0 + 100 * n, 6.0) for n, name in enumerate(MANY_MODELS)
    ]
    base = summary_reply()
    return base.model_copy(update={"models": [*base.models, *extra]})


def history_over(request: q.SystemHistoryQuery) -> q.SystemHistoryReply:
    """Samples spread over the asked period (as storage thins a long one): 15 for the
    last 15 minutes, 60 for longer."""
    minutes = request.hours * 60
    count = 15 if minutes <= 15 else 60
    samples = [
        system_sample(minutes_ago=minutes * (count - 1 - n) / count, cpu=20 + (n * 13) % 60)
        for n in range(count)
    ]
    return q.SystemHistoryReply(samples=samples, total_in_period=count)


async def serve_dashboard_storage(responder: Responder) -> None:
    """What the page asks storage for, with many models and a range-aware history."""
    await responder.answer(subjects.QUERY_SUMMARY, lambda _: many_models_summary())
    await responder.answer(subjects.QUERY_SYSTEM_HISTORY, history_over)
    await responder.answer(
        subjects.QUERY_MODEL_METRICS, lambda request: model_metrics_reply(request.model_name)
    )
    await responder.answer(
        subjects.QUERY_ALERTS,
        lambda _: q.AlertsReply(alerts=[firing_alert()], active=[firing_alert()]),
    )
    await responder.answer(subjects.QUERY_TRENDS, lambda _: trends_reply())
    await responder.answer(subjects.QUERY_LIFECYCLE, lambda _: lifecycle_reply())


def snapshot() -> OllamaModelsSnapshot:
    """Two models in memory: one all in VRAM, one partly on the CPU."""
    expires = utc_now() + timedelta(minutes=4, seconds=30)
    return OllamaModelsSnapshot(
        host=HOST,
        ollama_url=OLLAMA_URL,
        loaded=[
            LoadedModel(
                name="qwen3:8b",
                size_bytes=6 * GIB,
                size_vram_bytes=6 * GIB,
                context_length=8192,
                expires_at=expires,
            ),
            LoadedModel(
                name="llama3.3:70b",
                size_bytes=40 * GIB,
                size_vram_bytes=30 * GIB,
                context_length=4096,
                expires_at=expires,
                partially_offloaded=True,
            ),
        ],
    )


async def page_width(page: Page) -> tuple[int, int]:
    """The document's scroll width and the viewport's width."""
    widths = await page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    return int(widths[0]), int(widths[1])


async def fits(page: Page) -> bool:
    """Whether the page is no wider than the viewport."""
    scroll_width, inner_width = await page_width(page)
    return scroll_width <= inner_width


WIDER_THAN_VIEWPORT = """() => [...document.querySelectorAll("body *")]
  .filter((node) => node.getBoundingClientRect().right > window.innerWidth + 0.5)
  .filter((node) => !node.closest("table.data, .u-legend"))
  .slice(0, 8)
  .map((node) => `${node.tagName.toLowerCase()}#${node.id}.${node.className}`)"""


async def open_live_page(page: Page, server: AppServer) -> list[str]:
    """Open the dashboard and wait for the stream; the page's errors and CSP refusals."""
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on(
        "console",
        lambda message: (
            problems.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    await page.goto(f"{server.url}{DASHBOARD}")
    await expect(page.locator("#pill-stream")).to_have_text("live", timeout=UI_TIMEOUT_MS)
    return problems


def keep_screenshot(path: Path) -> None:
    """Copy a screenshot to OLLAMON_SCREENSHOT_DIR when it is set."""
    folder = os.environ.get("OLLAMON_SCREENSHOT_DIR")
    if folder:
        shutil.copyfile(path, Path(folder) / path.name)


async def test_no_width_scrolls_the_page_sideways_with_a_long_error_and_many_models(
    live_server: AppServer,
    responder: Responder,
    alerting: AlertingService,
    publisher: Bus,
    tmp_path: Path,
) -> None:
    await serve_dashboard_storage(responder)
    async with chromium() as browser:
        page = await browser.new_page(viewport=DESKTOP)
        problems = await open_live_page(page, live_server)
        await expect(page.locator("#models-table tbody tr")).to_have_count(
            2 + len(MANY_MODELS), timeout=UI_TIMEOUT_MS
        )
        # Alerting answers (the Thresholds card fills); the services beat, Ollama is up.
        await expect(page.locator("#thresholds-body tr").first).to_be_visible(timeout=UI_TIMEOUT_MS)
        await publish_stack_liveness(publisher)
        await publisher.publish(snapshot())
        await publisher.publish(
            OllamaModelMetrics(
                host=HOST,
                model_name=MANY_MODELS[0],
                response_time_ms=30_000.0,
                error_occurred=True,
                error_message=LONG_ERROR,
            )
        )
        await expect(page.locator("#feed li .error")).to_have_text(
            LONG_ERROR, timeout=UI_TIMEOUT_MS
        )
        await expect(page.locator("#loaded-list li")).to_have_count(2, timeout=UI_TIMEOUT_MS)

        for viewport in [DESKTOP, *PHONES]:
            await page.set_viewport_size(viewport)
            # The page reflows; a string predicate would need 'unsafe-eval' under the CSP.
            try:
                await wait_for_async(lambda: fits(page), UI_TIMEOUT_MS / 1000, "no sideways scroll")
            except AssertionError:
                wider = await page.evaluate(WIDER_THAN_VIEWPORT)
                raise AssertionError(f"at {viewport} these stick out: {wider}") from None
            scroll_width, inner_width = await page_width(page)
            assert scroll_width <= inner_width == viewport["width"], viewport
            if viewport in PHONES:
                # The models table's p95 and score are on screen, not past its edge.
                for header in ("p95", "score"):
                    box = await page.locator(
                        "#models-table th", has_text=header
                    ).first.bounding_box()
                    assert box is not None and box["x"] + box["width"] <= inner_width, header

        await page.set_viewport_size(DESKTOP)
        desktop = tmp_path / "dashboard.png"
        await page.screenshot(path=str(desktop), full_page=True)
        await page.set_viewport_size(PHONES[0])
        phone = tmp_path / "dashboard-phone.png"
        await page.screenshot(path=str(phone), full_page=True)
        assert problems == []
    await asyncio.to_thread(keep_screenshot, desktop)
    await asyncio.to_thread(keep_screenshot, phone)


async def test_charts_show_time_and_value_axes_and_the_range_switch_asks_storage_for_it(
    live_server: AppServer, responder: Responder
) -> None:
    await serve_dashboard_storage(responder)
    async with chromium() as browser:
        page = await browser.new_page(viewport=DESKTOP)
        problems = await open_live_page(page, live_server)
        cpu = page.locator("#chart-cpu")
        await expect(cpu.locator("canvas")).to_have_count(1, timeout=UI_TIMEOUT_MS)
        await expect(cpu).to_have_attribute("data-x-labels", CLOCK, timeout=UI_TIMEOUT_MS)
        await expect(cpu).to_have_attribute("data-y-labels", PERCENT)
        await expect(cpu).to_have_attribute("data-series", f"{HOST}:15")
        await expect(page.locator("#chart-trend-latency")).to_have_attribute(
            "data-y-labels", DURATION, timeout=UI_TIMEOUT_MS
        )
        await expect(page.locator("#chart-trend-requests canvas")).to_have_count(1)
        assert [query.hours for query in responder.asked(subjects.QUERY_SYSTEM_HISTORY)] == [0.25]

        # Hovering a chart shows each host's value in its legend.
        box = await cpu.locator(".u-over").bounding_box()
        assert box is not None
        await page.mouse.move(box["x"] + box["width"] * 0.6, box["y"] + box["height"] / 2)
        await expect(cpu.locator(".u-legend .u-series").nth(1)).to_contain_text(
            "%", timeout=UI_TIMEOUT_MS
        )

        await page.select_option("#system-range", "10080")
        await expect(page).to_have_url(RANGE_7D)
        await expect(cpu).to_have_attribute("data-series", f"{HOST}:60", timeout=UI_TIMEOUT_MS)
        # Seven days: the time axis names the days.
        await expect(cpu).to_have_attribute("data-x-labels", DAY_AND_CLOCK)
        assert responder.asked(subjects.QUERY_SYSTEM_HISTORY)[-1].hours == 168
        for chart in ("#chart-memory", "#chart-gpu", "#chart-gpu-memory"):
            await expect(page.locator(chart)).to_have_attribute("data-series", f"{HOST}:60")

        # The range is in the address: a reload keeps it.
        await page.reload()
        await expect(page.locator("#system-range")).to_have_value("10080", timeout=UI_TIMEOUT_MS)
        await expect(cpu).to_have_attribute("data-series", f"{HOST}:60", timeout=UI_TIMEOUT_MS)
        assert problems == []


async def test_loaded_now_shows_the_published_snapshot_and_a_new_page_gets_it_at_once(
    live_server: AppServer, app: Litestar, responder: Responder, publisher: Bus
) -> None:
    await serve_dashboard_storage(responder)
    async with chromium() as browser:
        page = await browser.new_page(viewport=PHONES[1])
        problems = await open_live_page(page, live_server)
        loaded = page.locator("#loaded-list")
        await expect(loaded).to_contain_text("Waiting for the probe", timeout=UI_TIMEOUT_MS)
        await publisher.publish(snapshot())
        big = loaded.locator("li[data-model='llama3.3:70b']")
        await expect(big).to_be_visible(timeout=UI_TIMEOUT_MS)
        await expect(big.locator("[data-field=size]")).to_have_text("40.0 GB")
        await expect(big.locator("[data-field=vram]")).to_have_text("75% VRAM")
        await expect(big.locator("[data-field=split]")).to_have_text("25% on CPU")
        await expect(big.locator("[data-field=expires]")).to_have_text(FOUR_MINUTES)
        small = loaded.locator("li[data-model='qwen3:8b']")
        await expect(small.locator("[data-field=split]")).to_have_text("all on GPU")
        await expect(page.locator("#loaded-count")).to_have_text("2 · 46.0 GB")

        # A page opened later has it from the gateway's /status, before the next snapshot.
        assert len(gateway_of(app).live.loaded_models()) == 1
        later = await browser.new_page(viewport=DESKTOP)
        problems += await open_live_page(later, live_server)
        await expect(later.locator("#loaded-list li")).to_have_count(2, timeout=UI_TIMEOUT_MS)
        await expect(later.locator("#loaded-count")).to_have_text("2 · 46.0 GB")

        await publisher.publish(snapshot().model_copy(update={"loaded": []}))
        await expect(loaded).to_have_text("No model is loaded.", timeout=UI_TIMEOUT_MS)
        await expect(later.locator("#loaded-list")).to_have_text("No model is loaded.")
        assert problems == []
