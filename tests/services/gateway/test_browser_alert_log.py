"""The Alerts, Notifications and Audit cards in a real Chromium."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.async_api import expect

from ollamon_core.bus import Bus
from ollamon_core.events import AlertState, OllamaModelMetrics, Silence, utc_now
from ollamon_core.events import queries as q
from ollamon_core.events.alert_management import AlertAudit, AuditAction
from ollamon_core.events.notifications import DeliveryOutcome, NotificationDelivery, ReceiverKind
from ollamon_gateway.server import AppServer
from tests.services.gateway.chromium import BROWSER_MARKS, DASHBOARD, UI_TIMEOUT_MS, chromium
from tests.services.gateway.fleet_stubs import HOST_A, serve_fleet_storage
from tests.services.gateway.stubs import Responder, firing_alert

pytestmark = BROWSER_MARKS

HOSTILE = '<img src=x onerror="window.__xss=1">'


def delivery(attempt: int, outcome: DeliveryOutcome, **fields: object) -> NotificationDelivery:
    """One settled attempt to tell the team's webhook about a slow-response alert."""
    return NotificationDelivery.model_validate(
        {
            "host": "hub",
            "timestamp": utc_now() - timedelta(seconds=10 - attempt),
            "receiver": "team-webhook",
            "receiver_kind": ReceiverKind.WEBHOOK,
            "fingerprint": "f" * 64,
            "alert_type": "slow_response",
            "alert_state": AlertState.FIRING,
            "attempt": attempt,
            "outcome": outcome,
            "latency_ms": 40.0 + attempt,
        }
        | fields
    )


def alert_log(_: q.AlertsQuery) -> q.AlertsReply:
    """Two failed attempts then a delivered one; a threshold change and a silence."""
    now = utc_now()
    silence = Silence(
        host="hub",
        silence_id="s1",
        match_host=HOST_A,
        match_alertname="slow_response",
        expires_at=now + timedelta(hours=1),
        author="bob",
    )
    return q.AlertsReply(
        deliveries=[
            delivery(3, DeliveryOutcome.DELIVERED, status_code=200),
            delivery(2, DeliveryOutcome.RETRYING, status_code=503, error=f"{HOSTILE} busy"),
            delivery(1, DeliveryOutcome.RETRYING, error="connection refused"),
        ],
        audit=[
            AlertAudit(
                host="hub",
                action=AuditAction.THRESHOLD_CHANGED,
                author="alice",
                comment=f"{HOSTILE} too noisy",
                rule="slow_response",
                threshold=45000.0,
                previous_threshold=30000.0,
            ),
            AlertAudit(
                host="hub", action=AuditAction.SILENCE_CREATED, author="bob", silence=silence
            ),
        ],
    )


@pytest.fixture
async def storage_with_a_log(responder: Responder) -> Responder:
    """Storage for two hosts whose `/alerts` holds deliveries and audit entries."""
    await serve_fleet_storage(responder, alerts=alert_log)
    return responder


async def test_each_delivery_attempt_and_each_audited_change_is_listed_as_text(
    live_server: AppServer, storage_with_a_log: Responder
) -> None:
    async with chromium() as browser:
        page = await browser.new_page()
        await page.goto(f"{live_server.url}{DASHBOARD}")
        rows = page.locator("#deliveries-body tr")
        await expect(rows).to_have_count(3, timeout=UI_TIMEOUT_MS)
        await expect(rows.nth(0)).to_contain_text("delivered")
        await expect(rows.nth(0)).to_contain_text("43 ms")
        await expect(rows.nth(1)).to_contain_text(f"{HOSTILE} busy")
        await expect(rows.nth(2)).to_contain_text("connection refused")
        await expect(page.locator("#deliveries-count")).to_have_text("3 attempts")
        audit = page.locator("#audit-list li")
        await expect(audit).to_have_count(2)
        await expect(audit.nth(0)).to_contain_text("threshold changed")
        await expect(audit.nth(0)).to_contain_text("slow_response: 30000 → 45000")
        await expect(audit.nth(0)).to_contain_text(f"by alice · {HOSTILE} too noisy")
        await expect(audit.nth(1)).to_contain_text(f"alertname=slow_response host={HOST_A}")
        assert await page.locator("img").count() == 0
        assert await page.evaluate("window.__xss") is None


async def test_a_live_alert_stays_shown_when_a_summary_from_storage_lags_behind_it(
    live_server: AppServer, storage_with_a_log: Responder, publisher: Bus
) -> None:
    # Storage here never stores what the stream carries: every summary it answers lags.
    async with chromium() as browser:
        page = await browser.new_page()
        await page.goto(f"{live_server.url}{DASHBOARD}")
        await expect(page.locator("#pill-stream")).to_have_text("live", timeout=UI_TIMEOUT_MS)
        await publisher.publish(firing_alert("lagging-model:1b"))
        active = page.locator("#alerts-active")
        await expect(active).to_contain_text("lagging-model:1b", timeout=UI_TIMEOUT_MS)

        # A live request adds its row, then makes the page fetch the summary again, which
        # knows neither the request nor the alert: the row goes, the alert stays.
        await publisher.publish(
            OllamaModelMetrics(host=HOST_A, model_name="passing:1b", response_time_ms=5.0)
        )
        row = page.locator('#models-table tbody tr[data-model="passing:1b"]')
        await expect(row).to_have_count(1, timeout=UI_TIMEOUT_MS)
        await expect(row).to_have_count(0, timeout=UI_TIMEOUT_MS)
        await expect(active).to_contain_text("lagging-model:1b")
