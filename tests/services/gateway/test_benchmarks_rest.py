"""`/api/ai/ollama/performance/benchmarks` on a real bus: GET from storage, POST to the probe
(202, bounds, 409 busy, 503 away, a named host's probe alone or a 503 naming the host, the
token and origin guards), and the run's progress and result on the SSE stream."""

from __future__ import annotations

import time

import httpx
import pytest
from litestar import Litestar

from ollamon_core import subjects
from ollamon_core.bus import Bus
from ollamon_core.events import (
    BenchmarkAccepted,
    BenchmarkProgress,
    BenchmarkRequest,
    ServiceName,
)
from ollamon_core.events.benchmark_queries import BenchmarksQuery, BenchmarksReply
from ollamon_core.events.queries import QueryError
from ollamon_core.insights import benchmark_comparison
from ollamon_gateway.server import AppServer
from ollamon_gateway.settings import GatewaySettings
from tests.conftest import BusFactory
from tests.services.gateway.conftest import TEST_REQUEST_TIMEOUT_SECONDS, SettingsFactory
from tests.services.gateway.stubs import Responder
from tests.services.gateway.test_rest import assert_problem
from tests.services.gateway.test_stream import next_events, open_stream
from tests.support.benchmark_runs import benchmark_run, model_result

BENCHMARKS = "/api/ai/ollama/performance/benchmarks"
TOKEN = "bench-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}

RUNS = [
    benchmark_run(0, "0.12.3", model_result("llama3.2:1b", 100.0)),
    benchmark_run(1, "0.12.6", model_result("llama3.2:1b", 80.0), model_result("qwen", 30.0)),
]


@pytest.fixture
def settings(make_settings: SettingsFactory) -> GatewaySettings:
    return make_settings(api_token=TOKEN, sse_heartbeat_seconds=0.3)


@pytest.fixture
async def bench_storage(responder: Responder) -> Responder:
    """Storage answering the benchmarks query from `RUNS`."""
    await responder.answer(
        subjects.QUERY_BENCHMARKS,
        lambda query: BenchmarksReply(
            runs=list(reversed(RUNS))[: query.limit],
            ranking=benchmark_comparison.ranking(RUNS, query.model),
            comparisons=benchmark_comparison.comparisons(RUNS, query.model),
        ),
    )
    return responder


@pytest.fixture
async def bench_probe(bus_factory: BusFactory) -> Responder:
    """The probe taking every run."""
    stand_in = Responder(await bus_factory(ServiceName.PROBE))
    await stand_in.answer(
        subjects.CONTROL_BENCHMARK,
        lambda request: BenchmarkAccepted(
            run_id="run-42", models=request.models or ["llama3.2:1b"], total_steps=7
        ),
    )
    return stand_in


async def test_get_answers_storage_s_runs_ranking_and_flagged_comparison(
    client: httpx.AsyncClient, bench_storage: Responder
) -> None:
    response = await client.get(BENCHMARKS, params={"host": "gpu-a", "limit": 5})
    assert response.status_code == 200, response.text
    body = response.json()
    assert [run["run_id"] for run in body["runs"]] == ["run-1", "run-0"]
    assert [(row["rank"], row["model"]) for row in body["ranking"]] == [
        (1, "llama3.2:1b"),
        (2, "qwen"),
    ]
    assert body["ranking"][0]["eval_tokens_per_second"]["low"] < 80.0
    flagged = [item["message"] for item in body["comparisons"] if item["flagged"]]
    assert flagged == ["0.12.3 -> 0.12.6: llama3.2:1b eval -20 % on gpu-a"]
    assert bench_storage.asked(subjects.QUERY_BENCHMARKS) == [
        BenchmarksQuery(host="gpu-a", limit=5)
    ]
    await client.get(BENCHMARKS, params={"model": "qwen"})
    assert bench_storage.asked(subjects.QUERY_BENCHMARKS)[-1].model == "qwen"


@pytest.mark.parametrize(
    "params", [{"limit": 0}, {"limit": 201}, {"host": ""}, {"model": "x" * 513}]
)
async def test_get_with_bad_parameters_is_400_and_asks_nobody(
    client: httpx.AsyncClient, bench_storage: Responder, params: dict[str, str | int]
) -> None:
    assert_problem(await client.get(BENCHMARKS, params=params), 400)
    assert bench_storage.asked(subjects.QUERY_BENCHMARKS) == []


async def test_get_without_storage_is_503_naming_storage(client: httpx.AsyncClient) -> None:
    body = assert_problem(await client.get(BENCHMARKS), 503, "storage")
    assert body["service"] == "storage"


async def test_post_starts_a_run_on_the_probe_and_answers_202_with_its_id(
    client: httpx.AsyncClient, bench_probe: Responder
) -> None:
    body = {"models": ["llama3.2:1b"], "repetitions": 2, "num_ctx": 4096, "force": True}
    response = await client.post(BENCHMARKS, json=body, headers=AUTH)
    assert response.status_code == 202, response.text
    assert response.json() == {"run_id": "run-42", "models": ["llama3.2:1b"], "total_steps": 7}
    assert bench_probe.asked(subjects.CONTROL_BENCHMARK) == [
        BenchmarkRequest(models=["llama3.2:1b"], repetitions=2, num_ctx=4096, force=True)
    ]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"repetitions": 0}, "repetitions"),
        ({"repetitions": 21}, "repetitions"),
        ({"num_ctx": 255}, "num_ctx"),
        ({"models": [f"m{index}" for index in range(51)]}, "models"),
        ({"models": ["x" * 256]}, "models"),
        ({"cases": ["nonsense"]}, "cases"),
        ({"repetitions": "3"}, "repetitions"),
        ({"surprise": 1}, "surprise"),
        ({"host": ""}, "host"),
        ({"host": "x" * 256}, "host"),
    ],
)
async def test_post_with_a_body_out_of_bounds_is_400_and_reaches_no_probe(
    client: httpx.AsyncClient, bench_probe: Responder, body: dict[str, object], reason: str
) -> None:
    assert_problem(await client.post(BENCHMARKS, json=body, headers=AUTH), 400, reason)
    assert bench_probe.asked(subjects.CONTROL_BENCHMARK) == []


async def test_post_while_real_traffic_runs_is_409_with_the_probe_s_reason(
    client: httpx.AsyncClient, bench_probe: Responder
) -> None:
    bench_probe.failures[subjects.CONTROL_BENCHMARK] = QueryError(
        error="busy: 2 requests in flight; send force to run anyway", status_code=409
    )
    response = await client.post(BENCHMARKS, json={}, headers=AUTH)
    assert_problem(response, 409, "busy", "force")


async def test_post_without_a_probe_is_503_naming_the_probe_without_hanging(
    client: httpx.AsyncClient,
) -> None:
    started = time.monotonic()
    body = assert_problem(await client.post(BENCHMARKS, json={}, headers=AUTH), 503, "probe")
    assert body["service"] == "probe"
    assert time.monotonic() - started < TEST_REQUEST_TIMEOUT_SECONDS + 3


async def test_post_naming_a_host_asks_that_host_s_probe_alone(
    client: httpx.AsyncClient, bench_probe: Responder, bus_factory: BusFactory
) -> None:
    edge_b = Responder(await bus_factory(ServiceName.PROBE))
    route_b = subjects.benchmark_route("gpu-b")
    await edge_b.answer(
        route_b, lambda request: BenchmarkAccepted(run_id="run-b", models=[], total_steps=1)
    )
    response = await client.post(BENCHMARKS, json={"host": "gpu-b"}, headers=AUTH)
    assert response.status_code == 202, response.text
    assert response.json()["run_id"] == "run-b"
    assert edge_b.asked(route_b) == [BenchmarkRequest(host="gpu-b")]
    assert bench_probe.asked(subjects.CONTROL_BENCHMARK) == []


async def test_post_naming_a_host_no_probe_serves_is_503_naming_the_host_without_hanging(
    client: httpx.AsyncClient, bench_probe: Responder
) -> None:
    started = time.monotonic()
    response = await client.post(BENCHMARKS, json={"host": "gpu-z"}, headers=AUTH)
    body = assert_problem(response, 503, "'gpu-z'")
    assert (body["service"], body["host"]) == ("probe", "gpu-z")
    assert body["subject"] == subjects.benchmark_route("gpu-z").subject
    assert response.headers["Retry-After"]
    assert time.monotonic() - started < TEST_REQUEST_TIMEOUT_SECONDS + 3
    assert bench_probe.asked(subjects.CONTROL_BENCHMARK) == []


async def test_post_needs_the_token_and_the_gateway_s_own_origin(
    client: httpx.AsyncClient, live_server: AppServer, bench_probe: Responder
) -> None:
    assert (await client.post(BENCHMARKS, json={})).status_code == 401
    cross_site = {"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"} | AUTH
    assert (await client.post(BENCHMARKS, json={}, headers=cross_site)).status_code == 403
    assert bench_probe.asked(subjects.CONTROL_BENCHMARK) == []
    same_origin = {"Origin": live_server.url, "Sec-Fetch-Site": "same-origin"} | AUTH
    assert (await client.post(BENCHMARKS, json={}, headers=same_origin)).status_code == 202


async def test_progress_and_the_finished_run_reach_stream_clients(
    client: httpx.AsyncClient, app: Litestar, publisher: Bus
) -> None:
    progress = BenchmarkProgress(run_id="run-1", model="llama3.2:1b", step=3, total_steps=7)
    async with open_stream(client, app) as reader:
        await publisher.publish(progress)
        await publisher.publish(RUNS[1])
        received = await next_events(reader, 2)
    assert [message.event for message in received] == ["benchmark_progress", "benchmark_run"]
    assert received[0].data["step"] == 3
    assert received[1].data["run_id"] == "run-1"
