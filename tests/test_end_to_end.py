"""The walking skeleton, end to end, the way a user runs it.

`ollamon up` (embedded NATS, the six services in one process) against the Ollama emulator;
requests through the proxy with the official `ollama` client must show up in the REST summary,
in the SQLite file and on the live SSE stream, and a slow one must raise an alert that a
plain nats-py subscriber receives. A crashed service process is restarted, in either mode.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import sqlite3
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import nats
import nats.errors
import ollama
import psutil
import pytest
from nats.aio.msg import Msg

from ollama_emulator.config import EmulatorConfig, ModelSpec, fast_config
from ollama_emulator.server import running_emulator
from ollamon_core.events import AlertState, OllamaPerformanceAlert
from tests.support.stack import RunningStack, launch, processes_by_service, stop_stack
from tests.support.waiting import wait_for, wait_for_async

SUMMARY = "/api/ai/ollama/performance/summary"
STREAM = "/api/ai/ollama/performance/stream"
STATUS = "/api/ai/ollama/performance/status"
SERVICES = {"collector", "probe", "alerting", "storage", "notifier", "gateway"}
AUTHORIZATION_VIOLATION = re.compile("authorization violation", re.IGNORECASE)
ALERTS_LOGIN = re.compile(r'user="(?P<user>[^"]+)", password="(?P<password>[^"]+)"')

pytestmark = pytest.mark.timeout(180)


def emulator_config() -> EmulatorConfig:
    slow = ModelSpec(name="slow:latest", time_to_first_token_ms=400.0, response_tokens=4)
    return EmulatorConfig(models=[*fast_config().models, slow])


@contextlib.asynccontextmanager
async def stack_against_emulator(tmp_path: Path, *options: str) -> AsyncIterator[RunningStack]:
    """`ollamon up [options]` in front of the emulator, alerting on one slow request."""
    env = {
        "OLLAMON_ALERT_RESPONSE_TIME_MS": "300",
        "OLLAMON_ALERT_FOR_SECONDS": "0",
        "OLLAMON_ALERT_REQUEST_RULE_BREACHES": "1",  # the one slow request fires
        "OLLAMON_ALERT_REQUEST_RULE_REQUESTS": "1",
        "OLLAMON_ALERT_EVALUATION_INTERVAL": "0.2",
    }
    async with running_emulator(emulator_config()) as ollama_url:
        stack = await asyncio.to_thread(
            launch, ("up", *options), tmp_path / "data", ollama_url, None, env
        )
        try:
            yield stack
        finally:
            await asyncio.to_thread(stop_stack, stack)


async def read_sse(url: str, events: list[tuple[str, dict[str, object]]]) -> None:
    async with (
        httpx.AsyncClient(timeout=None) as client,
        client.stream("GET", url) as response,
    ):
        kind = ""
        async for line in response.aiter_lines():
            if line.startswith("event:"):
                kind = line.split(":", 1)[1].strip()
            elif line.startswith("data:"):
                events.append((kind, json.loads(line.split(":", 1)[1])))


def stored_request_models(database: Path) -> list[str]:
    with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as db:
        return [row[0] for row in db.execute("SELECT model_name FROM requests")]


async def stored_request_models_async(database: Path) -> list[str]:
    return await asyncio.to_thread(stored_request_models, database)


def banner_alerts_login(stack: RunningStack) -> dict[str, str]:
    found = ALERTS_LOGIN.search(stack.text())
    assert found, "the banner prints no login for alert subscribers"
    return {"user": found["user"], "password": found["password"]}


async def test_a_request_through_the_proxy_reaches_summary_sqlite_sse_and_alerts(
    tmp_path: Path,
) -> None:
    async with stack_against_emulator(tmp_path) as stack:
        sse_events: list[tuple[str, dict[str, object]]] = []
        sse_task = asyncio.create_task(read_sse(stack.gateway_url + STREAM, sse_events))
        alerts: list[OllamaPerformanceAlert] = []
        with pytest.raises(nats.errors.Error, match=AUTHORIZATION_VIOLATION):
            await nats.connect(stack.nats_url, allow_reconnect=False)
        # The read-only login the banner prints is the documented way to subscribe.
        nc = await nats.connect(stack.nats_url, **banner_alerts_login(stack))

        async def keep_alert(msg: Msg) -> None:
            alerts.append(OllamaPerformanceAlert.model_validate_json(msg.data))

        await nc.subscribe("ollamon.alerts.>", cb=keep_alert)
        try:
            client = ollama.AsyncClient(host=stack.proxy_url)
            reply = await client.generate("llama3.2:1b", "Why is the sky blue?")
            assert reply.done and reply.eval_count
            chunks = [
                chunk
                async for chunk in await client.chat(
                    "llama3.2:1b", messages=[{"role": "user", "content": "hi"}], stream=True
                )
            ]
            assert chunks[-1].done
            sent_at = time.monotonic()

            async def summary_counts_both() -> dict[str, object] | None:
                async with httpx.AsyncClient() as http:
                    body = (await http.get(stack.gateway_url + SUMMARY)).json()
                models = {m["model_name"]: m for m in body["models"]}
                model = models.get("llama3.2:1b")
                return body if model and model["request_count"] >= 2 else None

            await wait_for_async(summary_counts_both, timeout=10, message="summary")
            visible_after_seconds = time.monotonic() - sent_at
            print(f"requests visible in the REST summary after {visible_after_seconds:.3f} s")
            stored = await stored_request_models_async(stack.database_path)
            assert stored.count("llama3.2:1b") == 2
            await wait_for(
                lambda: sum(kind == "request" for kind, _ in sse_events) >= 2,
                timeout=5,
                message="two request events on the SSE stream",
            )
            request_events = [data for kind, data in sse_events if kind == "request"]
            assert {data["model_name"] for data in request_events} == {"llama3.2:1b"}

            await client.generate("slow:latest", "take your time")
            await wait_for(
                lambda: any(a.alert_type == "slow_response" for a in alerts),
                timeout=10,
                message="a slow-response alert on ollamon.alerts.>",
            )
            alert = next(a for a in alerts if a.alert_type == "slow_response")
            assert (alert.state, alert.model_name) == (AlertState.FIRING, "slow:latest")
            assert alert.metric_value is not None and alert.metric_value >= 300
        finally:
            sse_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sse_task
            await nc.close()
    assert stack.process.returncode == 0
    assert "ollamon: stopped" in stack.text()


async def service_children(stack: RunningStack) -> dict[str, psutil.Process]:
    """The process of each service under `ollamon up`, read off the loop (psutil reads /proc)."""
    return await asyncio.to_thread(processes_by_service, stack)


@pytest.mark.parametrize(("processes", "crashed"), [("one", "services"), ("separate", "collector")])
async def test_ollamon_up_restarts_a_crashed_service_and_stops_everything_on_sigterm(
    tmp_path: Path, processes: str, crashed: str
) -> None:
    async with stack_against_emulator(tmp_path, "--processes", processes) as stack:
        children = await service_children(stack)
        assert set(children) == SERVICES
        assert len({child.pid for child in children.values()}) == (
            1 if processes == "one" else len(SERVICES)
        )

        async def every_service_reports() -> bool:
            async with httpx.AsyncClient() as http:
                body = (await http.get(stack.gateway_url + STATUS)).json()
            alive = {s["service"] for s in body["services"] if s["alive"]}
            return alive == SERVICES and body["missing_services"] == []

        await wait_for_async(every_service_reports, timeout=15, message="every service's heartbeat")
        await asyncio.to_thread(children["collector"].kill)
        await wait_for(
            lambda: f"service {crashed} exited with code -9; restarting" in stack.text(),
            timeout=10,
            message="the crash report",
        )

        async def new_collector_process() -> bool:
            collector = (await service_children(stack)).get("collector")
            return collector is not None and collector.pid != children["collector"].pid

        await wait_for_async(new_collector_process, timeout=10, message="a new collector process")

        async def collector_alive_again() -> bool:
            async with httpx.AsyncClient() as http:
                try:
                    body = (await http.get(stack.gateway_url + STATUS)).json()
                except httpx.TransportError:  # one process: the gateway restarts too
                    return False
            return any(
                s["service"] == "collector" and s["alive"] and s["pid"] != children["collector"].pid
                for s in body["services"]
            )

        await wait_for_async(collector_alive_again, timeout=15, message="a fresh heartbeat")
        survivors = await service_children(stack)
    assert stack.process.returncode == 0
    for process in survivors.values():
        assert await asyncio.to_thread(gone_or_a_zombie, process)


def gone_or_a_zombie(process: psutil.Process) -> bool:
    return not process.is_running() or process.status() == psutil.STATUS_ZOMBIE
