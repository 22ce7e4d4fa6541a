"""`ollamon selftest` (cli/ollamon_cli/selftest.py) against a live gateway."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from litestar import Litestar

from ollamon_cli.selftest import run_selftest
from ollamon_gateway.server import AppServer
from ollamon_gateway.settings import GatewaySettings
from tests.services.gateway.conftest import SettingsFactory, gateway_of
from tests.services.gateway.stubs import Responder

TOKEN = "selftest-token"


@pytest.fixture
def settings(make_settings: SettingsFactory) -> GatewaySettings:
    return make_settings(api_token=TOKEN)


async def test_every_check_passes_against_a_healthy_stack_and_monitoring_is_left_as_found(
    live_server: AppServer, app: Litestar, storage: Responder, probe: Responder, tmp_path: Path
) -> None:
    path = await asyncio.to_thread(run_selftest, live_server.url, tmp_path / "reports", TOKEN)
    report = json.loads(await asyncio.to_thread(path.read_text))
    assert path.parent == tmp_path / "reports"
    assert path.name.startswith("selftest-")
    failures = [check for check in report["checks"] if not check["ok"]]
    assert failures == []
    assert report["ok"] is True
    names = {check["name"] for check in report["checks"]}
    assert {
        "ollama health",
        "status",
        "monitoring stop",
        "monitoring start",
        "summary",
        "model metrics",
        "system",
        "alerts",
        "bad input",
        "export json",
        "export csv",
        "cleanup",
        "stream",
        "prometheus",
        "dashboard",
        "openapi",
    } <= names
    assert gateway_of(app).live.monitoring_status.active is True


async def test_a_missing_token_and_an_absent_storage_are_reported_not_raised(
    live_server: AppServer, probe: Responder, tmp_path: Path
) -> None:
    path = await asyncio.to_thread(run_selftest, live_server.url, tmp_path, None)
    report = json.loads(await asyncio.to_thread(path.read_text))
    assert report["ok"] is False
    by_name = {check["name"]: check for check in report["checks"]}
    assert by_name["summary"]["status_code"] == 503
    assert "storage" in by_name["summary"]["problem"]
    assert by_name["monitoring stop"]["status_code"] == 401
    assert by_name["ollama health"]["ok"] is True
    assert by_name["stream"]["ok"] is True
