"""`/schema/swagger` in a real Chromium renders every operation with no request leaving the
gateway's origin (issue 16: it loaded Swagger UI from a CDN and was blank offline)."""

from __future__ import annotations

from urllib.parse import urlsplit

from playwright.async_api import Route, expect

from ollamon_gateway.server import AppServer
from tests.services.gateway.chromium import BROWSER_MARKS, UI_TIMEOUT_MS, chromium

pytestmark = BROWSER_MARKS


async def test_swagger_ui_renders_every_operation_with_nothing_fetched_elsewhere(
    live_server: AppServer,
) -> None:
    own = urlsplit(live_server.url).netloc
    elsewhere: list[str] = []
    requested: list[str] = []

    async def only_the_gateway(route: Route) -> None:
        url = route.request.url
        requested.append(url)
        if urlsplit(url).netloc == own or url.startswith(("data:", "blob:")):
            await route.continue_()
        else:
            elsewhere.append(url)
            await route.abort()

    async with chromium() as browser:
        context = await browser.new_context()
        await context.route("**/*", only_the_gateway)
        page = await context.new_page()
        problems: list[str] = []
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.on(
            "console",
            lambda message: problems.append(message.text) if message.type == "error" else None,
        )
        await page.goto(f"{live_server.url}/schema/swagger")

        operations = page.locator(".opblock")
        await expect(operations.first).to_be_visible(timeout=UI_TIMEOUT_MS)
        document = await (await page.request.get(f"{live_server.url}/schema/openapi.json")).json()
        count = sum(
            1
            for item in document["paths"].values()
            for method in item
            if method in {"get", "put", "post", "delete"}
        )
        await expect(operations).to_have_count(count, timeout=UI_TIMEOUT_MS)
        await expect(page.locator(".info .title")).to_contain_text("ollamon")
        await expect(
            page.locator(".opblock-summary-description", has_text="Delete old history")
        ).to_be_visible()

        # An operation opens with its description and its problem-details errors.
        await page.locator(".opblock-summary", has_text="/cleanup").click()
        opened = page.locator(".opblock.is-open")
        await expect(opened).to_contain_text("days_to_keep", timeout=UI_TIMEOUT_MS)
        await expect(opened).to_contain_text("application/problem+json")
        await context.close()

    assert elsewhere == []
    assert any(url.endswith("swagger-ui-bundle.js") for url in requested)
    assert problems == []
