"""The dashboard's Export downloads the file (with progress) and Clean up asks first.

Issue 16's repro: Export wrote a server file and showed its path; "Keep days 0" + Clean up
deleted the whole history with no question.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Dialog, Page, expect

from ollamon_core import subjects
from ollamon_core.events import ServiceName
from ollamon_core.events.queries import (
    EXPORT_CHUNK_BYTES,
    ExportChunkReply,
    ExportChunkRequest,
    ExportReply,
    ExportRequest,
)
from ollamon_gateway.server import AppServer
from tests.conftest import BusFactory
from tests.services.gateway.chromium import BROWSER_MARKS, DASHBOARD, UI_TIMEOUT_MS, chromium
from tests.services.gateway.stubs import EXPORT_CONTENT, Responder, serve_storage

pytestmark = BROWSER_MARKS

BIG_EXPORT = os.urandom(EXPORT_CHUNK_BYTES * 4)
CHUNK_PAUSE_SECONDS = 0.4


@pytest.fixture
async def slow_export_storage(bus_factory: BusFactory) -> AsyncIterator[Responder]:
    """Storage whose export is 1 MiB, sent a chunk every `CHUNK_PAUSE_SECONDS`."""
    stand_in = Responder(await bus_factory(ServiceName.STORAGE))
    await serve_storage(stand_in, exports=False)

    async def export(_: ExportRequest) -> ExportReply:
        return ExportReply(path="exports/big.json", row_counts={"requests": 4096})

    async def chunk(request: ExportChunkRequest) -> ExportChunkReply:
        await asyncio.sleep(CHUNK_PAUSE_SECONDS)
        data = BIG_EXPORT[request.offset : request.offset + request.length]
        return ExportChunkReply(size=len(BIG_EXPORT), offset=request.offset, data=data)

    servers = [
        await stand_in.bus.serve(subjects.QUERY_EXPORT, export),
        await stand_in.bus.serve(subjects.QUERY_EXPORT_CHUNK, chunk),
    ]
    await stand_in.bus.nc.flush()
    try:
        yield stand_in
    finally:
        for server in servers:
            await server.unsubscribe()
        await stand_in.stop()


async def _open(page: Page, server: AppServer) -> None:
    await page.goto(f"{server.url}{DASHBOARD}")
    await expect(page.locator("#pill-stream")).to_have_text("live", timeout=UI_TIMEOUT_MS)


async def test_export_downloads_the_file_through_the_gateway(
    live_server: AppServer, storage: Responder
) -> None:
    async with chromium() as browser:
        page = await browser.new_page(accept_downloads=True)
        await _open(page, live_server)
        await page.locator("#export-format").select_option("json")
        async with page.expect_download(timeout=UI_TIMEOUT_MS) as started:
            await page.locator("#form-export button").click()
        download = await started.value
        assert download.suggested_filename == "ollamon-export.json"
        saved = await download.path()
        assert await asyncio.to_thread(saved.read_bytes) == EXPORT_CONTENT
        await expect(page.locator("#control-result")).to_contain_text(
            "Exported 175 rows: downloaded ollamon-export.json"
        )
        await expect(page.locator("#export-progress")).to_be_hidden()
    assert [request.format for request in storage.asked(subjects.QUERY_EXPORT)] == ["json"]


async def test_a_large_export_shows_its_progress_while_it_downloads(
    live_server: AppServer, slow_export_storage: Responder
) -> None:
    async with chromium() as browser:
        page = await browser.new_page(accept_downloads=True)
        await _open(page, live_server)
        progress = page.locator("#export-progress")
        async with page.expect_download(timeout=UI_TIMEOUT_MS) as started:
            await page.locator("#form-export button").click()
            await expect(progress).to_be_visible(timeout=UI_TIMEOUT_MS)
            # Part of the file is in, not all of it, and the bar knows the whole size.
            await page.wait_for_function(
                "(() => { const p = document.getElementById('export-progress');"
                " return p.value > 0 && p.value < p.max; })()",
                timeout=UI_TIMEOUT_MS,
            )
            assert await progress.evaluate("p => p.max") == len(BIG_EXPORT)
        download = await started.value
        saved = await download.path()
        assert await asyncio.to_thread(saved.read_bytes) == BIG_EXPORT
        await expect(progress).to_be_hidden()
        await expect(page.locator("#control-result")).to_contain_text("(1.0 MiB)")


async def test_clean_up_asks_first_and_deletes_nothing_when_refused(
    live_server: AppServer, storage: Responder
) -> None:
    questions: list[str] = []

    async def answer(dialog: Dialog, accept: bool) -> None:
        questions.append(dialog.message)
        await (dialog.accept() if accept else dialog.dismiss())

    async with chromium() as browser:
        page = await browser.new_page()
        await _open(page, live_server)
        result = page.locator("#control-result")
        await page.locator("#cleanup-days").fill("0")

        page.once("dialog", lambda dialog: answer(dialog, accept=False))
        await page.locator("#form-cleanup button").click()
        await expect(result).to_have_text("Clean up cancelled: nothing deleted.")
        assert storage.asked(subjects.QUERY_CLEANUP) == []

        page.once("dialog", lambda dialog: answer(dialog, accept=True))
        await page.locator("#form-cleanup button").click()
        await expect(result).to_have_text(
            "Deleted 0 rows older than 0 days.", timeout=UI_TIMEOUT_MS
        )
    assert all("WHOLE history" in question for question in questions)
    assert len(questions) == 2
    asked = storage.asked(subjects.QUERY_CLEANUP)
    assert [(request.days_to_keep, request.confirm) for request in asked] == [(0, True)]
