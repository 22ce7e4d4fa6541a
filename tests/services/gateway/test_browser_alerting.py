"""Alert management from the dashboard, in a real Chromium, against the real alerting service.

Issue 15's "Done when": a silence made over REST holds a matching alert back and is visible
on the dashboard. Here the silence is made with the dashboard's form (its POST goes through
the same-origin and JSON guards like every state change of the page), and one over REST
with a script's request; then acknowledge, threshold edit (a refused value shows the
problem's reason) and expire.
"""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Page, expect

from ollamon_alerting.rules import RuleName
from ollamon_alerting.service import AlertingService
from ollamon_core.bus import Bus
from ollamon_core.events import OllamaModelMetrics
from ollamon_gateway.server import AppServer
from ollamon_gateway.settings import GatewaySettings
from tests.services.gateway.chromium import BROWSER_MARKS, DASHBOARD, UI_TIMEOUT_MS, chromium
from tests.services.gateway.conftest import SettingsFactory
from tests.services.gateway.fleet_stubs import HOST_A, serve_fleet_storage
from tests.services.gateway.stubs import Responder
from tests.support.waiting import wait_for

pytestmark = BROWSER_MARKS

SILENCED_MODEL = "maintenance-model:7b"
REST_SILENCED_MODEL = "rest-silenced:1b"
LOUD_MODEL = "loud-model:3b"
AUTHOR = "alice"
TOKEN = "operator-token"
HOSTILE_COMMENT = '<img src=x onerror="window.__xss=1"> nightly reindex'
# Over twice the 30 s slow-response threshold: a severe breach fires at once.
SEVERE_RESPONSE_MS = 95_000.0


@pytest.fixture
async def fleet_storage(responder: Responder) -> Responder:
    """Storage answering for two hosts."""
    await serve_fleet_storage(responder)
    return responder


def slow_request(model_name: str) -> OllamaModelMetrics:
    """A request of `model_name` on host A far over the slow-response threshold."""
    return OllamaModelMetrics(
        host=HOST_A, model_name=model_name, response_time_ms=SEVERE_RESPONSE_MS
    )


def firing_models(service: AlertingService) -> set[str | None]:
    """The models alerting holds a firing slow-response alert for (notified or not)."""
    return {
        record.model_name
        for record in service.engine.tracker.firing()
        if record.rule is RuleName.SLOW_RESPONSE
    }


async def fill_silence(page: Page, *, model: str, comment: str) -> None:
    """The new-silence form: slow responses of `model` on host A, for the default 2 h."""
    await page.locator("#silence-alertname").fill("slow_response")
    await page.locator("#silence-host").fill(HOST_A)
    await page.locator("#silence-model").fill(model)
    await page.locator("#silence-author").fill(AUTHOR)
    await page.locator("#silence-comment").fill(comment)


async def test_a_silence_from_the_form_holds_its_alert_back_and_the_others_are_managed(
    live_server: AppServer,
    client: httpx.AsyncClient,
    fleet_storage: Responder,
    alerting: AlertingService,
    publisher: Bus,
    tmp_path: Path,
) -> None:
    # A silence made over REST by a script (no browser headers), before the page opens.
    made = await client.post(
        "/api/ai/ollama/performance/silences",
        json={
            "match_model": REST_SILENCED_MODEL,
            "author": "cron",
            "comment": HOSTILE_COMMENT,
            "duration_seconds": 3600,
        },
    )
    assert made.status_code == 201, made.text
    async with chromium() as browser:
        page = await browser.new_page(viewport={"width": 1440, "height": 1600})
        page_errors: list[str] = []
        page.on("pageerror", lambda error: page_errors.append(str(error)))
        await page.goto(f"{live_server.url}{DASHBOARD}")
        await expect(page.locator("#pill-stream")).to_have_text("live", timeout=UI_TIMEOUT_MS)
        silences = page.locator("#silences-list li.silence")
        await expect(silences).to_have_count(1, timeout=UI_TIMEOUT_MS)
        await expect(silences.first).to_contain_text(f"model={REST_SILENCED_MODEL}")
        await expect(silences.first).to_contain_text("by cron")
        await expect(silences.first).to_contain_text(HOSTILE_COMMENT)

        await fill_silence(page, model=SILENCED_MODEL, comment="moving the GPU")
        await page.locator("#form-silence button[type=submit]").click()
        await expect(page.locator("#silence-result")).to_contain_text(
            "in force", timeout=UI_TIMEOUT_MS
        )
        await expect(silences).to_have_count(2)
        made_here = silences.filter(has_text=f"model={SILENCED_MODEL}")
        await expect(made_here).to_contain_text(f"host={HOST_A}")
        await expect(made_here).to_contain_text("alertname=slow_response")
        await expect(made_here).to_contain_text(f"by {AUTHOR}")
        await expect(made_here).to_contain_text("moving the GPU")

        # Both silenced models and one that is not: only the loud one's alert is shown,
        # while alerting holds all three firing.
        for model in (SILENCED_MODEL, REST_SILENCED_MODEL, LOUD_MODEL):
            await publisher.publish(slow_request(model))
        active = page.locator("#alerts-active")
        await expect(active).to_contain_text(LOUD_MODEL, timeout=UI_TIMEOUT_MS)
        await wait_for(
            lambda: firing_models(alerting) == {SILENCED_MODEL, REST_SILENCED_MODEL, LOUD_MODEL},
            5,
            "alerting holds the three alerts firing",
        )
        await expect(active.locator("li.alert")).to_have_count(1)
        assert alerting.bus.counters["alerts_firing_sent"] == 1

        # Acknowledge the loud one: alerting republishes it with who acknowledged it.
        await active.get_by_role("button", name="Acknowledge").click()
        await expect(active).to_contain_text(f"acknowledged by {AUTHOR}", timeout=UI_TIMEOUT_MS)
        await expect(page.locator("#alert-result")).to_have_text(
            f"Acknowledged slow_response ({LOUD_MODEL})."
        )

        # A refused threshold shows the problem's reason on its row: a negative number
        # (400, the body's field error), then 0, outside the rule's own bounds (422).
        row = page.locator('#thresholds-body tr[data-rule="slow_response"]')
        error = row.locator(".row-error")
        await row.locator("input").fill("-5")
        await row.get_by_role("button", name="Save").click()
        await expect(error).to_contain_text(
            re.compile(r"threshold: .*greater than or equal to 0"), timeout=UI_TIMEOUT_MS
        )
        await row.locator("input").fill("0")
        await row.get_by_role("button", name="Save").click()
        await expect(error).to_contain_text(
            "slow_response takes a threshold above 0 ms", timeout=UI_TIMEOUT_MS
        )
        await expect(row.locator("input")).to_have_attribute("aria-invalid", "true")
        await row.locator("input").fill("45000")
        await row.get_by_role("button", name="Save").click()
        await expect(page.locator("#threshold-result")).to_contain_text(
            "45000", timeout=UI_TIMEOUT_MS
        )
        await expect(row).to_contain_text(f"by {AUTHOR}")
        await page.screenshot(path=str(tmp_path / "alerting.png"), full_page=True)

        # Expire the form's silence: it leaves the list (and alerting's).
        await made_here.get_by_role("button", name="Expire").click()
        await expect(silences).to_have_count(1, timeout=UI_TIMEOUT_MS)
        await expect(silences.first).to_contain_text(REST_SILENCED_MODEL)
        assert await page.locator("img").count() == 0
        assert await page.evaluate("window.__xss") is None
        assert page_errors == []


class TestWithAToken:
    @pytest.fixture
    def settings(self, make_settings: SettingsFactory) -> GatewaySettings:
        return make_settings(api_token=TOKEN)

    async def test_the_forms_send_the_token_from_the_token_field(
        self, live_server: AppServer, fleet_storage: Responder, alerting: AlertingService
    ) -> None:
        async with chromium() as browser:
            page = await browser.new_page()
            await page.goto(f"{live_server.url}{DASHBOARD}")
            await expect(page.locator("#pill-stream")).to_have_text("live", timeout=UI_TIMEOUT_MS)
            await fill_silence(page, model=SILENCED_MODEL, comment="needs the token")
            submit = page.locator("#form-silence button[type=submit]")
            await submit.click()
            await expect(page.locator("#silence-result.bad")).to_contain_text(
                "Authorization: Bearer", timeout=UI_TIMEOUT_MS
            )
            assert alerting.engine.silences.silences == {}

            await page.locator("#token").fill(TOKEN)
            await page.locator("#token").dispatch_event("change")
            await submit.click()
            await expect(page.locator("#silence-result")).to_contain_text(
                "in force", timeout=UI_TIMEOUT_MS
            )
            silence = page.locator("#silences-list li.silence")
            await expect(silence).to_have_count(1, timeout=UI_TIMEOUT_MS)
            await silence.get_by_role("button", name="Expire").click()
            await expect(page.locator("#silence-result")).to_have_text("Silence expired.")
            await expect(silence).to_have_count(0, timeout=UI_TIMEOUT_MS)
