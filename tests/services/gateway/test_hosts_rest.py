"""`?host=` over REST, on the real bus and the real storage service with two hosts stored.

Issue 14's repro through the gateway: two hosts (`vm` and `hostB`) were one row per model,
the newest score of any host, the `latest_system` of whichever host reported last, and
`?host=` was ignored. Each answer below keeps the hosts apart.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar import Litestar

from ollamon_core.bus import Bus
from ollamon_core.events import OllamaHealth
from ollamon_core.events.limits import MAX_HOST_CHARS
from ollamon_storage.service import running_storage
from ollamon_storage.settings import StorageSettings
from tests.services.gateway.conftest import gateway_of
from tests.services.gateway.test_rest import API, assert_problem
from tests.services.storage.conftest import make_settings, wait_for_ready
from tests.support.two_hosts import HOST_B_URL, MODEL, store_events, two_host_events
from tests.support.waiting import wait_for_async

Client = httpx.AsyncClient
HOST_QUERIES = ("summary", f"metrics/{MODEL}", "system", "alerts", "trends", "lifecycle")


@pytest.fixture
async def two_hosts_stored(tmp_path: Path, clean_nats_url: str) -> AsyncIterator[StorageSettings]:
    """The storage service, answering over a database that holds `vm` and `hostB`."""
    settings = make_settings(tmp_path / "storage", clean_nats_url)
    await store_events(settings.database_path, two_host_events())
    async with running_storage(settings):
        await wait_for_ready(settings)
        yield settings


async def _get(client: Client, path: str, **params: str | int) -> Any:
    response = await client.get(f"{API}/{path}", params=params)
    assert response.status_code == 200, response.text
    return response.json()


async def test_the_summary_has_a_row_per_host_and_model_and_each_hosts_own_state(
    client: Client, two_hosts_stored: StorageSettings
) -> None:
    body = await _get(client, "summary")
    rows = {(row["model_name"], row["host"]): row for row in body["models"]}
    # Before: one row for the model, `"hosts": ["hostB", "vm"]`, score 3.0 (hostB's).
    assert (rows[(MODEL, "vm")]["score"], rows[(MODEL, "hostB")]["score"]) == (8.0, 3.0)
    assert (rows[(MODEL, "vm")]["request_count"], rows[(MODEL, "hostB")]["request_count"]) == (
        30,
        10,
    )
    memory = {host["host"]: host["latest_system"]["memory_usage_percent"] for host in body["hosts"]}
    assert memory == {"vm": 11.0, "hostB": 50.0}
    # Before: `latest_system` was hostB's, the last to report, for the whole summary.
    assert body["latest_system"] is None
    assert body["fleet"] == {
        "host_count": 2,
        "hosts_reporting": 2,
        "hosts_with_gpu": 0,
        "hosts_ollama_down": 1,
        "model_count": 2,
        "total_requests": 41,
        "total_errors": 2,
        "active_alerts": 1,
    }


async def test_the_host_filter_is_honoured_by_every_query(
    client: Client, two_hosts_stored: StorageSettings
) -> None:
    summary = await _get(client, "summary", host="vm")
    assert summary["host"] == "vm"
    assert [(row["model_name"], row["host"]) for row in summary["models"]] == [(MODEL, "vm")]
    assert summary["latest_system"]["memory_usage_percent"] == 11.0
    metrics = await _get(client, f"metrics/{MODEL}", host="vm")
    assert metrics["summary"]["host"] == "vm"
    assert metrics["summary"]["score"] == 8.0
    assert metrics["latest_score"]["host"] == "vm"
    system = await _get(client, "system", host="hostB")
    samples = system["samples"]
    assert samples
    assert {(sample["host"], sample["memory_usage_percent"]) for sample in samples} == {
        ("hostB", 50.0)
    }
    alerts = await _get(client, "alerts", host="hostB")
    assert [alert["host"] for alert in alerts["active"]] == ["hostB"]
    assert (await _get(client, "alerts", host="vm"))["active"] == []
    trends = await _get(client, "trends", host="vm", hours=1)
    assert {point["host"] for point in trends["points"]} == {"vm"}
    assert (await _get(client, "lifecycle", host="vm"))["events"] == []
    lifecycle = await _get(client, "lifecycle", host="hostB")
    assert [event["host"] for event in lifecycle["events"]] == ["hostB"]


async def test_model_metrics_without_a_host_give_one_row_per_host(
    client: Client, two_hosts_stored: StorageSettings
) -> None:
    body = await _get(client, f"metrics/{MODEL}")
    by_host = body["by_host"]
    assert [(row["host"], row["request_count"], row["score"]) for row in by_host] == [
        ("hostB", 10, 3.0),
        ("vm", 30, 8.0),
    ]
    assert body["summary"]["host"] is None
    assert body["summary"]["score"] is None


@pytest.mark.parametrize("path", HOST_QUERIES)
async def test_an_unknown_host_is_a_404_problem_naming_it(
    client: Client, two_hosts_stored: StorageSettings, path: str
) -> None:
    response = await client.get(f"{API}/{path}", params={"host": "hostC"})
    assert_problem(response, 404, "unknown host 'hostC'")


@pytest.mark.parametrize("path", HOST_QUERIES)
@pytest.mark.parametrize("host", ["", "h" * (MAX_HOST_CHARS + 1)])
async def test_an_empty_or_overlong_host_is_400_and_reaches_no_service(
    client: Client, path: str, host: str
) -> None:
    assert_problem(await client.get(f"{API}/{path}", params={"host": host}), 400, "host")


async def test_a_hosts_ollama_state_in_the_summary_is_the_live_one_when_the_gateway_has_it(
    client: Client, app: Litestar, publisher: Bus, two_hosts_stored: StorageSettings
) -> None:
    before = await _get(client, "summary", host="hostB")
    assert before["hosts"][0]["ollama_up"] is False  # stored: down
    live = OllamaHealth(host="hostB", ollama_url=HOST_B_URL, up=True, version="0.12.3")

    async def seen() -> bool:
        await publisher.publish(live)  # again until the gateway's subscription has one
        return bool(gateway_of(app).live.ollama_health("hostB"))

    await wait_for_async(seen, message="the gateway saw hostB's health")
    after = await _get(client, "summary", host="hostB")
    host_b = after["hosts"][0]
    assert host_b["ollama_up"] is True
    assert [(entry["ollama_url"], entry["version"]) for entry in host_b["ollama"]] == [
        (HOST_B_URL, "0.12.3")
    ]
    assert after["fleet"]["hosts_ollama_down"] == 0
    assert [entry["host"] for entry in after["ollama"]] == ["hostB"]
    assert (await _get(client, "summary", host="vm"))["ollama"] == []


async def test_openapi_documents_the_host_filter_of_every_query(client: Client) -> None:
    paths = (await client.get("/schema/openapi.json")).json()["paths"]
    for path in HOST_QUERIES:
        key = f"{API}/metrics/{{model_name}}" if path.startswith("metrics/") else f"{API}/{path}"
        parameters = {p["name"]: p for p in paths[key]["get"]["parameters"]}
        assert parameters["host"]["in"] == "query", path
        assert parameters["host"]["schema"]["maxLength"] == MAX_HOST_CHARS, path
        assert "404" in parameters["host"]["description"], path
