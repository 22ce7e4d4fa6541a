"""The REST API on a real bus, storage and the probe answered by in-test stand-ins."""

from __future__ import annotations

import time
from urllib.parse import quote

import httpx
import pytest
from litestar import Litestar

from ollamon_core import subjects
from ollamon_core.bus import Bus
from ollamon_core.events import (
    Heartbeat,
    MonitoringAction,
    MonitoringControl,
    OllamaModelMetrics,
    ServiceName,
    utc_now,
)
from ollamon_core.events.queries import QueryError
from tests.services.gateway.conftest import TEST_REQUEST_TIMEOUT_SECONDS, gateway_of
from tests.services.gateway.stubs import MODEL_WITH_NAMESPACE, MODEL_WITH_TAG, Responder
from tests.support.waiting import collect, wait_for

API = "/api/ai/ollama/performance"
Client = httpx.AsyncClient


def assert_problem(response: object, status_code: int, *reason_parts: str) -> dict[str, object]:
    """A problem-details answer with the status and a reason naming `reason_parts`."""
    assert response.status_code == status_code, response.text  # type: ignore[attr-defined]
    assert response.headers["content-type"].startswith("application/problem+json")  # type: ignore[attr-defined]
    body: dict[str, object] = response.json()  # type: ignore[attr-defined]
    assert body["status"] == status_code
    text = str(body)
    for part in reason_parts:
        assert part in text, text
    return body


async def test_summary_merges_storage_with_the_live_monitoring_state(
    client: Client, storage: Responder
) -> None:
    response = await client.get(f"{API}/summary", params={"hours": 6})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["total_requests"] == 160
    assert [m["model_name"] for m in body["models"]] == [MODEL_WITH_TAG, MODEL_WITH_NAMESPACE]
    assert body["gpu_available"] is True
    assert body["active_alerts"][0]["alert_type"] == "slow_response"
    assert body["recommendations"][0]["setting"] == "OLLAMA_NUM_PARALLEL"
    assert body["monitoring"]["active"] is True
    assert storage.asked(subjects.QUERY_SUMMARY)[0].hours == 6


@pytest.mark.parametrize("model_name", [MODEL_WITH_TAG, MODEL_WITH_NAMESPACE])
async def test_model_metrics_accept_names_with_colons_and_slashes(
    client: Client, storage: Responder, model_name: str
) -> None:
    response = await client.get(f"{API}/metrics/{model_name}")
    assert response.status_code == 200, response.text
    assert response.json()["summary"]["model_name"] == model_name
    assert storage.asked(subjects.QUERY_MODEL_METRICS)[-1].model_name == model_name


async def test_model_metrics_accept_a_percent_encoded_name(
    client: Client, storage: Responder
) -> None:
    response = await client.get(f"{API}/metrics/{quote(MODEL_WITH_NAMESPACE, safe='')}")
    assert response.status_code == 200, response.text
    assert storage.asked(subjects.QUERY_MODEL_METRICS)[-1].model_name == MODEL_WITH_NAMESPACE


async def test_model_metrics_of_an_unknown_model_is_404_naming_it(
    client: Client, storage: Responder
) -> None:
    response = await client.get(f"{API}/metrics/never-used:7b")
    assert_problem(response, 404, "never-used:7b")


async def test_model_metrics_without_a_name_is_400(client: Client, storage: Responder) -> None:
    assert_problem(await client.get(f"{API}/metrics/"), 400, "model name")


async def test_system_history_passes_hours_and_limit(client: Client, storage: Responder) -> None:
    response = await client.get(f"{API}/system", params={"hours": 2, "limit": 50})
    assert response.status_code == 200, response.text
    assert len(response.json()["samples"]) == 15
    query = storage.asked(subjects.QUERY_SYSTEM_HISTORY)[0]
    assert (query.hours, query.limit) == (2, 50)


@pytest.mark.parametrize("hours", ["0", "-1", "abc", "100000"])
async def test_bad_hours_get_400_with_the_reason(
    client: Client, storage: Responder, hours: str
) -> None:
    assert_problem(await client.get(f"{API}/system", params={"hours": hours}), 400, "hours")
    assert storage.asked(subjects.QUERY_SYSTEM_HISTORY) == []


async def test_alerts_filter_by_severity_and_limit(client: Client, storage: Responder) -> None:
    response = await client.get(f"{API}/alerts", params={"severity": "high", "limit": 5})
    assert response.status_code == 200, response.text
    assert response.json()["active"][0]["severity"] == "high"
    query = storage.asked(subjects.QUERY_ALERTS)[0]
    assert (query.severity, query.limit) == ("high", 5)


async def test_alerts_pass_the_audit_limit_on_and_bound_it(
    client: Client, storage: Responder
) -> None:
    response = await client.get(f"{API}/alerts", params={"audit_limit": 3})
    assert response.status_code == 200, response.text
    assert storage.asked(subjects.QUERY_ALERTS)[0].audit_limit == 3
    assert_problem(await client.get(f"{API}/alerts", params={"audit_limit": 1001}), 400, "audit")


async def test_an_unknown_severity_is_400(client: Client, storage: Responder) -> None:
    assert_problem(await client.get(f"{API}/alerts", params={"severity": "dire"}), 400, "severity")


async def test_trends_and_lifecycle_come_from_storage(client: Client, storage: Responder) -> None:
    trends = await client.get(f"{API}/trends", params={"hours": 6, "bucket": "hour"})
    assert trends.status_code == 200, trends.text
    assert trends.json()["points"]
    lifecycle = await client.get(f"{API}/lifecycle")
    assert lifecycle.status_code == 200, lifecycle.text
    assert lifecycle.json()["events"][0]["partially_offloaded"] is True


async def test_monitoring_start_publishes_the_control_and_is_remembered(
    client: Client, publisher: Bus
) -> None:
    controls: list[object] = []
    await publisher.subscribe(subjects.CONTROL_MONITORING, lambda e, m: collect(controls, e))
    await publisher.nc.flush()
    response = await client.post(f"{API}/monitoring/start", json={"interval": 2.5})
    assert response.status_code == 200, response.text
    assert response.json()["active"] is True
    assert response.json()["interval_seconds"] == 2.5
    await wait_for(lambda: controls, message="monitoring control on the bus")
    control = controls[0]
    assert isinstance(control, MonitoringControl)
    assert (control.action, control.interval_seconds) == (MonitoringAction.START, 2.5)

    stopped = await client.post(f"{API}/monitoring/stop")
    assert stopped.status_code == 200, stopped.text
    assert stopped.json() == stopped.json() | {"active": False, "interval_seconds": 2.5}
    status = (await client.get(f"{API}/status")).json()
    assert status["monitoring"]["active"] is False


async def test_monitoring_start_without_a_body_keeps_the_interval(client: Client) -> None:
    response = await client.post(f"{API}/monitoring/start")
    assert response.status_code == 200, response.text
    assert response.json()["interval_seconds"] == 5.0


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"interval": 0}, "greater than or equal to 0.5"),
        ({"interval": 1e-9}, "greater than or equal to 0.5"),
        ({"interval": 0.1}, "greater than or equal to 0.5"),
        ({"interval": 7200}, "less than or equal to 3600"),
        ({"interval": True}, "not a boolean"),
        ({"interval": "2"}, "not a boolean or a string"),
        ({"interval": "fast"}, "interval"),
        ({"speed": 1}, "speed"),
    ],
)
async def test_monitoring_start_with_a_bad_interval_is_400_and_publishes_nothing(
    client: Client, publisher: Bus, body: dict[str, object], reason: str
) -> None:
    controls: list[object] = []
    await publisher.subscribe(subjects.CONTROL_MONITORING, lambda e, m: collect(controls, e))
    await publisher.nc.flush()
    assert_problem(await client.post(f"{API}/monitoring/start", json=body), 400, reason)
    status = (await client.get(f"{API}/status")).json()
    assert status["monitoring"]["interval_seconds"] == 5.0
    assert controls == []


async def test_a_stop_from_another_gateway_shows_in_the_status(
    client: Client, publisher: Bus
) -> None:
    await publisher.publish(MonitoringControl(action=MonitoringAction.STOP))

    async def stopped() -> bool:
        body = (await client.get(f"{API}/status")).json()
        return body["monitoring"]["active"] is False

    deadline = time.monotonic() + 5
    while not await stopped():
        assert time.monotonic() < deadline, "the stop never showed"


async def test_status_lists_each_service_heartbeat_and_the_nats_connection(
    client: Client, app: Litestar, publisher: Bus
) -> None:
    await publisher.publish(
        Heartbeat(
            host="node-1",
            service=ServiceName.STORAGE,
            version="0.1.0",
            state="running",
            pid=1234,
            started_at=utc_now(),
            counters={"rows_written": 99.0},
        )
    )
    await wait_for(lambda: gateway_of(app).live.heartbeats, message="heartbeat seen")
    body = (await client.get(f"{API}/status")).json()
    [storage_status] = [s for s in body["services"] if s["service"] == "storage"]
    assert storage_status["host"] == "node-1"
    assert storage_status["alive"] is True
    assert storage_status["counters"] == {"rows_written": 99.0}
    assert body["nats"]["connected"] is True
    assert body["nats"]["url"].startswith("nats://127.0.0.1:")
    assert body["stream"]["clients"] == 0


async def test_export_and_cleanup_are_forwarded_to_storage(
    client: Client, storage: Responder
) -> None:
    export = await client.post(f"{API}/export", json={"format": "csv", "filepath": "x.csv"})
    assert export.status_code == 200, export.text
    assert export.json()["path"].endswith(".csv")
    asked = storage.asked(subjects.QUERY_EXPORT)[0]
    assert (asked.format, asked.filepath) == ("csv", "x.csv")
    cleanup = await client.post(f"{API}/cleanup", json={"days_to_keep": 7})
    assert cleanup.status_code == 200, cleanup.text
    assert storage.asked(subjects.QUERY_CLEANUP)[0].days_to_keep == 7


@pytest.mark.parametrize(
    ("path", "body", "reason"),
    [
        ("export", {"format": "xml"}, "format"),
        ("export", {"format": "json", "unexpected": 1}, "unexpected"),
        ("cleanup", {"days_to_keep": -3}, "days_to_keep"),
        ("cleanup", {"days_to_keep": "soon"}, "days_to_keep"),
        ("cleanup", {"days_to_keep": True}, "not a boolean"),
        ("cleanup", {"days_to_keep": "0"}, "not a boolean, a string"),
        ("export", {"filepath": "x" * 256}, "at most 255 characters"),
        ("export", {"filepath": "x" * 101 + ".json"}, "at most 100 characters"),
        ("export", {"filepath": "a;b.json"}, "may hold only"),
    ],
)
async def test_bad_export_and_cleanup_bodies_are_400_and_reach_nobody(
    client: Client, storage: Responder, path: str, body: dict[str, object], reason: str
) -> None:
    assert_problem(await client.post(f"{API}/{path}", json=body), 400, reason)
    assert storage.asked(subjects.QUERY_EXPORT) == storage.asked(subjects.QUERY_CLEANUP) == []


async def test_a_storage_error_keeps_its_status_code_and_reason(
    client: Client, storage: Responder
) -> None:
    storage.failures[subjects.QUERY_EXPORT] = QueryError(
        error="filepath must stay inside the export folder", status_code=422
    )
    response = await client.post(f"{API}/export", json={"filepath": "../../etc/passwd"})
    assert_problem(response, 422, "inside the export folder")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/summary"),
        ("GET", f"/metrics/{MODEL_WITH_TAG}"),
        ("GET", "/system"),
        ("GET", "/alerts"),
        ("GET", "/trends"),
        ("GET", "/lifecycle"),
        ("POST", "/export"),
        ("POST", "/cleanup"),
    ],
)
async def test_storage_not_answering_is_503_naming_storage_without_hanging(
    client: Client, method: str, path: str
) -> None:
    started = time.monotonic()
    response = await client.request(method, f"{API}{path}", json={} if method == "POST" else None)
    body = assert_problem(response, 503, "storage")
    assert body["service"] == "storage"
    assert response.headers["retry-after"]
    assert time.monotonic() - started < TEST_REQUEST_TIMEOUT_SECONDS + 3


async def test_health_asks_the_probe_and_the_status_shows_the_answer(
    client: Client, app: Litestar, probe: Responder
) -> None:
    response = await client.get("/api/ai/ollama/health")
    assert response.status_code == 200, response.text
    assert response.json()["results"][0]["up"] is True
    assert len(probe.asked(subjects.CONTROL_HEALTH_CHECK)) == 1
    status = (await client.get(f"{API}/status")).json()
    assert status["ollama"][0]["version"] == "0.12.3"


async def test_health_without_a_probe_is_503_naming_the_probe(client: Client) -> None:
    body = assert_problem(await client.get("/api/ai/ollama/health"), 503, "probe")
    assert body["service"] == "probe"


async def test_unknown_paths_are_404_problem_details(client: Client) -> None:
    assert_problem(await client.get("/api/ai/ollama/performance/nothing-here"), 404)


async def test_openapi_is_published_at_the_default_schema_path(client: Client) -> None:
    response = await client.get("/schema/openapi.json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    for path in (
        "summary",
        "metrics/{model_name}",
        "system",
        "alerts",
        "monitoring/start",
        "monitoring/stop",
        "status",
        "export",
        "cleanup",
        "stream",
    ):
        assert f"{API}/{path}" in paths, path
    assert "/api/ai/ollama/health" in paths
    assert "/metrics" in paths


async def test_metrics_exposes_prometheus_text_after_live_events(
    client: Client, app: Litestar, publisher: Bus
) -> None:
    await publisher.publish(
        OllamaModelMetrics(host="h", model_name=MODEL_WITH_TAG, response_time_ms=640.0)
    )
    await wait_for(lambda: gateway_of(app).fanout.frames_published >= 1, message="event seen")
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert (
        f'ollamon_requests_total{{host="h",model="{MODEL_WITH_TAG}",outcome="success",'
        'source="proxy"} 1.0' in response.text
    )
