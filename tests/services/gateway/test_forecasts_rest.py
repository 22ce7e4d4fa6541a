"""`GET /api/ai/ollama/performance/forecasts` on a real bus: storage's forecasts, the host
passed on, bounds, an unknown host's 404 and storage away's 503; documented in OpenAPI."""

from __future__ import annotations

import json

import httpx
import pytest

from ollamon_core import subjects
from ollamon_core.events.forecast_queries import ForecastsQuery
from ollamon_core.events.queries import QueryError
from tests.services.gateway.forecast_stubs import DISK_SUMMARY, forecasts_reply
from tests.services.gateway.stubs import Responder
from tests.services.gateway.test_rest import assert_problem

FORECASTS = "/api/ai/ollama/performance/forecasts"


@pytest.fixture
async def forecasting_storage(responder: Responder) -> Responder:
    await responder.answer(subjects.QUERY_FORECASTS, forecasts_reply)
    return responder


async def test_get_answers_storage_s_forecasts_for_the_host(
    client: httpx.AsyncClient, forecasting_storage: Responder
) -> None:
    response = await client.get(FORECASTS, params={"host": "gpu-a"})
    assert response.status_code == 200, response.text
    forecasts = response.json()["forecasts"]
    assert [(item["host"], item["kind"], item["resource"]) for item in forecasts] == [
        ("gpu-a", "vram", "GPU 0 (NVIDIA H200)"),
        ("gpu-a", "disk", "/"),
        ("gpu-a", "memory", "memory"),
    ]
    assert forecasts[1]["summary"] == DISK_SUMMARY
    assert forecasts[2]["seconds_to_full"] is None
    assert forecasting_storage.asked(subjects.QUERY_FORECASTS) == [ForecastsQuery(host="gpu-a")]
    assert (await client.get(FORECASTS)).status_code == 200
    assert forecasting_storage.asked(subjects.QUERY_FORECASTS)[-1] == ForecastsQuery()


@pytest.mark.parametrize("params", [{"host": ""}, {"host": "x" * 300}])
async def test_get_with_a_bad_host_is_400_and_asks_nobody(
    client: httpx.AsyncClient, forecasting_storage: Responder, params: dict[str, str]
) -> None:
    assert_problem(await client.get(FORECASTS, params=params), 400, "host")
    assert forecasting_storage.asked(subjects.QUERY_FORECASTS) == []


async def test_an_unknown_host_is_404(
    client: httpx.AsyncClient, forecasting_storage: Responder
) -> None:
    forecasting_storage.failures[subjects.QUERY_FORECASTS] = QueryError(
        error="unknown host 'nowhere': no event of this host is stored", status_code=404
    )
    assert_problem(await client.get(FORECASTS, params={"host": "nowhere"}), 404, "nowhere")


async def test_without_storage_it_is_503_naming_storage(client: httpx.AsyncClient) -> None:
    body = assert_problem(await client.get(FORECASTS), 503, "storage")
    assert body["service"] == "storage"


async def test_the_operation_is_described_with_its_problems(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/schema/openapi.json")).json()
    operation = schema["paths"][FORECASTS]["get"]
    assert "disk / full in ~9 days" in operation["description"]
    assert {"200", "400", "404", "503"} <= set(operation["responses"])
    (host,) = operation["parameters"]
    assert host["name"] == "host" and '"maxLength": 255' in json.dumps(host)
