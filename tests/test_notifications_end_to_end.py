"""Notifications end to end, the way a user runs them: `ollamon up` with
`OLLAMON_ALERT_WEBHOOK_URLS` (a secret token in the URL) against the Ollama emulator; a
slow request through the proxy reaches a webhook receiver that fails once, and the
delivery log shows in `/alerts`, the metrics and the stored rows, with the token nowhere."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from pathlib import Path

import httpx
import ollama
import pytest

from ollama_emulator.config import EmulatorConfig, ModelSpec, fast_config
from ollama_emulator.server import running_emulator
from tests.services.notifier.receiver import RecordingReceiver
from tests.support.stack import start_stack, stop_stack
from tests.support.waiting import wait_for, wait_for_async

ALERTS = "/api/ai/ollama/performance/alerts"
STATUS = "/api/ai/ollama/performance/status"
TOKEN = "s3cret-token-value"

pytestmark = pytest.mark.timeout(180)


def stored_deliveries(database: Path) -> list[str]:
    with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as db:
        return [row[0] for row in db.execute("SELECT data FROM notification_deliveries")]


async def test_a_slow_request_is_notified_logged_counted_and_its_secret_kept(
    tmp_path: Path,
) -> None:
    slow = ModelSpec(name="slow:latest", time_to_first_token_ms=400.0, response_tokens=4)
    config = EmulatorConfig(models=[*fast_config().models, slow])
    async with (
        RecordingReceiver(statuses=[503]) as receiver,
        running_emulator(config) as ollama_url,
    ):
        stack = await asyncio.to_thread(
            start_stack,
            tmp_path / "data",
            ollama_url,
            OLLAMON_ALERT_RESPONSE_TIME_MS="300",
            OLLAMON_ALERT_FOR_SECONDS="0",
            OLLAMON_ALERT_REQUEST_RULE_BREACHES="1",
            OLLAMON_ALERT_REQUEST_RULE_REQUESTS="1",
            OLLAMON_ALERT_EVALUATION_INTERVAL="0.2",
            OLLAMON_ALERT_WEBHOOK_URLS=f"{receiver.url}/hook?token={TOKEN}",
            OLLAMON_NOTIFIER_RETRY_INITIAL_SECONDS="0.2",
            # Only the slow request alerts: a busy test machine must not fire host rules
            # before the gateway listens (it would not count what came before it).
            OLLAMON_ALERT_CPU_USAGE_PERCENT="100",
            OLLAMON_ALERT_MEMORY_USAGE_PERCENT="100",
            OLLAMON_ALERT_DISK_USAGE_PERCENT="100",
        )
        try:
            async with httpx.AsyncClient() as http:
                status = (await http.get(stack.gateway_url + STATUS)).json()
            assert "notifier" in str(status)
            client = ollama.AsyncClient(host=stack.proxy_url)
            await client.generate("slow:latest", "hi")
            await wait_for(lambda: receiver.accepted(), 30, "the notification")
            await asyncio.sleep(1.0)  # a model_load alert of the cold start may follow

            async def logged() -> dict[str, object] | None:
                async with httpx.AsyncClient() as http:
                    body = (await http.get(stack.gateway_url + ALERTS)).json()
                outcomes = [delivery["outcome"] for delivery in body["deliveries"]]
                everything = len(receiver.received)
                return body if len(outcomes) == everything and outcomes[-1] == "retrying" else None

            body = await wait_for_async(logged, 15, "the delivery log in /alerts")
            async with httpx.AsyncClient() as http:
                metrics = (await http.get(stack.gateway_url + "/metrics")).text
            rows = await asyncio.to_thread(stored_deliveries, stack.database_path)
        finally:
            await asyncio.to_thread(stop_stack, stack)

    # The slow model's cold start may raise a model_load alert too: each is its own group.
    accepted = receiver.accepted()
    payloads = [r.json() for r in accepted]
    firing = [p for p in payloads if p["groupLabels"]["alertname"] == "slow_response"]
    assert {request.path for request in receiver.received} == {f"/hook?token={TOKEN}"}
    assert firing[0]["status"] == "firing"
    assert firing[0]["alerts"][0]["labels"]["model"] == "slow:latest"
    delivered, retried = len(accepted), 1
    assert f'{{outcome="delivered",receiver="webhook-1"}} {delivered}.0' in metrics
    assert f'{{outcome="retrying",receiver="webhook-1"}} {retried}.0' in metrics
    assert len(rows) == delivered + retried
    output = stack.text()
    # The notifier names its receiver by scheme, host and port only.
    assert f"receiver webhook-1 (webhook): {receiver.url}/…" in output
    assert f"notifications webhook-1 (webhook, {receiver.url}/…)" in output  # the banner
    for text in (output, str(body), metrics, *rows):
        assert TOKEN not in text
