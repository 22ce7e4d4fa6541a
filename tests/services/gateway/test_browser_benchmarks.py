"""The dashboard's Benchmarks card in a real Chromium: the ranking with its intervals, "Run
benchmark" with its progress bar fed by the stream, and the upgrade's flagged comparison.

First with storage and the probe as stand-ins (every step under the test's control; with a
host chosen, the run is asked of that host's probe alone), then
through the real storage, probe and gateway in front of the emulator, twice: as Ollama
0.12.3, then restarted as 0.12.6 with eval 20 % slower. Set OLLAMON_SCREENSHOT_DIR to keep
the card's screenshots (docs/screenshots/dashboard-benchmarks.png is the second test's).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Page, expect

from ollama_emulator.app import create_app as create_emulator
from ollama_emulator.config import ModelSpec
from ollama_emulator.server import serve_app
from ollamon_cli.nats_server import free_port
from ollamon_core import subjects
from ollamon_core.bus import Bus
from ollamon_core.events import (
    BenchmarkAccepted,
    BenchmarkProgress,
    BenchmarkRequest,
    BenchmarkRun,
    BenchmarkState,
    ServiceName,
)
from ollamon_core.events.benchmark_queries import BenchmarksReply
from ollamon_core.events.queries import QueryError
from ollamon_core.insights import benchmark_comparison
from ollamon_gateway.server import AppServer
from tests.conftest import BusFactory
from tests.services.gateway.chromium import BROWSER_MARKS, DASHBOARD, UI_TIMEOUT_MS, chromium
from tests.services.gateway.stubs import Responder, serve_storage
from tests.support.benchmark_runs import benchmark_run, model_result
from tests.support.benchmark_stack import benchmark_stack, ollama

pytestmark = BROWSER_MARKS

MODEL = "llama3.2:1b"
STEPS = 4
RUN_TIMEOUT_MS = 30_000


@pytest.fixture
def stored() -> list[BenchmarkRun]:
    """What the storage stand-in holds: one run on Ollama 0.12.3."""
    return [benchmark_run(0, "0.12.3", model_result(MODEL, 100.0), model_result("qwen3:8b", 31.5))]


@pytest.fixture
async def bench_storage(responder: Responder, stored: list[BenchmarkRun]) -> Responder:
    """Storage answering the benchmarks query from `stored` (the usual sample data besides)."""
    await serve_storage(responder, benchmarks=False)
    await responder.answer(
        subjects.QUERY_BENCHMARKS,
        lambda query: BenchmarksReply(
            runs=sorted(stored, key=lambda run: run.finished_at, reverse=True)[: query.limit],
            ranking=benchmark_comparison.ranking(stored),
            comparisons=benchmark_comparison.comparisons(stored),
        ),
    )
    return responder


@pytest.fixture
async def bench_probe(bus_factory: BusFactory) -> AsyncIterator[Responder]:
    stand_in = Responder(await bus_factory(ServiceName.PROBE))
    await stand_in.answer(
        subjects.CONTROL_BENCHMARK,
        lambda request: BenchmarkAccepted(run_id="run-1", models=request.models, total_steps=STEPS),
    )
    try:
        yield stand_in
    finally:
        await stand_in.stop()


async def test_a_run_from_the_card_shows_progress_then_the_ranking_and_the_flag(
    live_server: AppServer,
    bench_storage: Responder,
    bench_probe: Responder,
    publisher: Bus,
    stored: list[BenchmarkRun],
    tmp_path: Path,
) -> None:
    async with chromium() as browser:
        page = await browser.new_page(viewport={"width": 1440, "height": 1000})
        page_errors: list[str] = []
        page.on("pageerror", lambda error: page_errors.append(str(error)))
        await page.goto(f"{live_server.url}{DASHBOARD}")
        await expect(page.locator("#pill-stream")).to_have_text("live", timeout=UI_TIMEOUT_MS)
        rows = page.locator("#benchmarks-body tr")
        await expect(rows).to_have_count(2, timeout=UI_TIMEOUT_MS)
        await expect(rows.first).to_contain_text(MODEL)
        await expect(rows.first.locator("td.eval")).to_have_text("100.0 (98.0\u2013102.0)")
        await expect(page.locator("#benchmark-flags li")).to_have_count(0)

        await page.locator("#benchmark-models").fill(MODEL)
        await page.locator("#benchmark-repetitions").fill("2")
        await page.locator("#form-benchmark button").click()
        progress = page.locator("#benchmark-progress")
        await expect(progress).to_be_visible(timeout=UI_TIMEOUT_MS)
        assert bench_probe.asked(subjects.CONTROL_BENCHMARK) == [
            BenchmarkRequest(models=[MODEL], repetitions=2, requested_by="dashboard")
        ]
        await expect(page.locator("#form-benchmark button")).to_be_disabled()

        for step in (1, 2):
            await publisher.publish(
                BenchmarkProgress(
                    run_id="run-1", model=MODEL, case="streamed", step=step, total_steps=STEPS
                )
            )
        await page.wait_for_function(
            "document.getElementById('benchmark-progress').value === 2", timeout=UI_TIMEOUT_MS
        )
        assert await progress.evaluate("p => p.max") == STEPS
        await expect(page.locator("#benchmark-result")).to_contain_text("step 2 of 4")

        upgraded = benchmark_run(1, "0.12.6", model_result(MODEL, 80.0))
        stored.append(upgraded)
        await publisher.publish(
            BenchmarkProgress(
                run_id="run-1",
                step=STEPS,
                total_steps=STEPS,
                state=BenchmarkState.DONE,
                message="done; real traffic went through the proxy during the run: "
                "its figures may be skewed",
            )
        )
        await publisher.publish(upgraded)
        await expect(page.locator("#benchmark-result")).to_contain_text(
            "Run run-1 done: 1 model measured; real traffic went through the proxy during the "
            "run: its figures may be skewed",
            timeout=UI_TIMEOUT_MS,
        )
        await expect(progress).to_be_hidden()
        flags = page.locator("#benchmark-flags li")
        await expect(flags).to_have_count(1, timeout=UI_TIMEOUT_MS)
        await expect(flags).to_contain_text("0.12.3 -> 0.12.6: llama3.2:1b eval -20 % on gpu-a")
        await expect(flags.locator(".right")).to_have_text("slower")
        # The ranking now has the upgrade's figures: qwen3:8b's older run stays below it.
        await expect(rows.first.locator("td.eval")).to_have_text("80.0 (78.4\u201381.6)")
        await expect(rows.first).to_contain_text("0.12.6")
        card = tmp_path / "dashboard-benchmarks.png"
        await page.locator("#benchmarks-card").screenshot(path=str(card))
        assert page_errors == []
    keep = os.environ.get("OLLAMON_SCREENSHOT_DIR")
    if keep:
        await asyncio.to_thread(
            shutil.copy, card, Path(keep) / "dashboard-benchmarks-stand-ins.png"
        )


async def test_with_a_host_chosen_the_run_is_asked_of_that_host_s_probe_alone(
    live_server: AppServer,
    bench_storage: Responder,
    bench_probe: Responder,
    bus_factory: BusFactory,
) -> None:
    host_probe = Responder(await bus_factory(ServiceName.PROBE))
    route = subjects.benchmark_route("gpu-a")
    await host_probe.answer(
        route, lambda request: BenchmarkAccepted(run_id="run-a", models=[], total_steps=STEPS)
    )
    try:
        async with chromium() as browser:
            page = await browser.new_page()
            await page.goto(f"{live_server.url}{DASHBOARD}?host=gpu-a")
            await expect(page.locator("#pill-stream")).to_have_text("live", timeout=UI_TIMEOUT_MS)
            await page.locator("#benchmark-models").fill(MODEL)
            await page.locator("#form-benchmark button").click()
            await expect(page.locator("#benchmark-result")).to_contain_text(
                "Run run-a", timeout=UI_TIMEOUT_MS
            )
    finally:
        await host_probe.stop()
    assert host_probe.asked(route) == [
        BenchmarkRequest(models=[MODEL], requested_by="dashboard", host="gpu-a")
    ]
    assert bench_probe.asked(subjects.CONTROL_BENCHMARK) == []


async def test_a_refused_run_says_why_and_frees_the_button(
    live_server: AppServer, bench_storage: Responder, bench_probe: Responder
) -> None:
    bench_probe.failures[subjects.CONTROL_BENCHMARK] = QueryError(
        error="busy: 1 request in flight; tick 'during traffic' to run anyway", status_code=409
    )
    async with chromium() as browser:
        page = await browser.new_page()
        await page.goto(f"{live_server.url}{DASHBOARD}")
        await expect(page.locator("#pill-stream")).to_have_text("live", timeout=UI_TIMEOUT_MS)
        await page.locator("#form-benchmark button").click()
        result = page.locator("#benchmark-result")
        await expect(result).to_contain_text("busy: 1 request in flight", timeout=UI_TIMEOUT_MS)
        await expect(result).to_have_class("result bad")
        await expect(page.locator("#form-benchmark button")).to_be_enabled()
        await expect(page.locator("#benchmark-progress")).to_be_hidden()


FAST = ModelSpec(name="swift:1b", tokens_per_second=900.0, load_time_ms=60.0)
SLOW = ModelSpec(
    name="steady:7b",
    parameter_size="7.6B",
    tokens_per_second=300.0,
    load_time_ms=120.0,
    size_bytes=6_000_000_000,
    size_vram_bytes=4_000_000_000,
)


async def _run_from_the_card(page: Page) -> None:
    """Run every model from the card and wait for the run to be done."""
    await page.locator("#form-benchmark button").click()
    await expect(page.locator("#benchmark-progress")).to_be_visible(timeout=UI_TIMEOUT_MS)
    await expect(page.locator("#benchmark-result")).to_contain_text(
        "done: 2 models measured", timeout=RUN_TIMEOUT_MS
    )
    await expect(page.locator("#benchmark-progress")).to_be_hidden()


async def test_runs_through_the_stack_rank_the_emulator_s_models_and_flag_the_upgrade(
    clean_nats_url: str, bus_factory: BusFactory, tmp_path: Path
) -> None:
    port = free_port()
    async with contextlib.AsyncExitStack() as first_ollama:
        await first_ollama.enter_async_context(
            serve_app(create_emulator(ollama("0.12.3", FAST, SLOW)), port=port)
        )
        async with (
            benchmark_stack(
                clean_nats_url, bus_factory, tmp_path, ollama_port=port, host="gpu-a"
            ) as stack,
            chromium() as browser,
        ):
            page = await browser.new_page(viewport={"width": 1440, "height": 1000})
            page_errors: list[str] = []
            page.on("pageerror", lambda error: page_errors.append(str(error)))
            await page.goto(f"{stack.gateway_url}{DASHBOARD}")
            await expect(page.locator("#pill-stream")).to_have_text("live", timeout=UI_TIMEOUT_MS)
            await expect(page.locator("#benchmarks-empty")).to_be_visible()
            await page.locator("#benchmark-repetitions").fill("2")

            await _run_from_the_card(page)
            rows = page.locator("#benchmarks-body tr")
            await expect(rows).to_have_count(2, timeout=UI_TIMEOUT_MS)
            assert await rows.evaluate_all("rows => rows.map(r => r.dataset.model)") == [
                "swift:1b",
                "steady:7b",
            ]
            await expect(rows.first).to_contain_text("0.12.3")
            await expect(rows.nth(1).locator("td").nth(7)).to_have_text("no")  # partly on CPU

            await first_ollama.aclose()
            upgraded = create_emulator(ollama("0.12.6", FAST, SLOW, eval_speed=0.8))
            async with serve_app(upgraded, port=port):
                await _run_from_the_card(page)
                flags = page.locator("#benchmark-flags li")
                await expect(flags.filter(has_text="eval -20 %")).to_have_count(
                    2, timeout=UI_TIMEOUT_MS
                )
                await expect(flags.first).to_contain_text("0.12.3 -> 0.12.6:")
                await expect(rows.first).to_contain_text("0.12.6")
                card = tmp_path / "dashboard-benchmarks.png"
                await page.locator("#benchmarks-card").screenshot(path=str(card))
            assert page_errors == []
    keep = os.environ.get("OLLAMON_SCREENSHOT_DIR")
    if keep:
        await asyncio.to_thread(shutil.copy, card, Path(keep) / card.name)
