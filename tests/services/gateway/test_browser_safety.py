"""What a hostile web page can make a browser send is refused; the operator's tools still work.

Real HTTP over loopback to a live gateway: cross-site POSTs (any content type) are 403, forged
`Host` values (DNS rebinding) are 400 before any handler runs, state changes take JSON only,
deep or over-long input is a 400 problem, and the health check never floods the probe.
"""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

import httpx
import pytest
from litestar import Litestar
from pydantic import ValidationError

from ollamon_core import subjects
from ollamon_core.bus import Bus
from ollamon_core.events import OllamaHealth
from ollamon_gateway.server import AppServer
from ollamon_gateway.settings import GatewaySettings
from tests.services.gateway.conftest import SettingsFactory, gateway_of
from tests.services.gateway.stubs import HOST, OLLAMA_URL, Responder
from tests.support.waiting import wait_for, wait_for_async

API = "/api/ai/ollama/performance"
CLEANUP = f"{API}/cleanup"
EVIL = "http://evil.example"
TOKEN = "operator-token"
WIPE_ALL = '{"days_to_keep":0}'
# Every state change the API has, with a body it accepts.
POSTS = [
    ("/monitoring/start", {"interval": 5.0}),
    ("/monitoring/stop", None),
    ("/export", {"format": "json"}),
    ("/cleanup", {"days_to_keep": 30}),
]


def assert_problem(response: httpx.Response, status_code: int, *reason_parts: str) -> None:
    """A problem-details answer with the status and a reason naming `reason_parts`."""
    assert response.status_code == status_code, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    text = response.text
    for part in reason_parts:
        assert part in text, text


def same_origin(server: AppServer) -> dict[str, str]:
    """What a browser sends with a POST from the dashboard itself."""
    return {"Origin": server.url, "Sec-Fetch-Site": "same-origin"}


def host_of(server: AppServer) -> str:
    """The `Host` value a browser sends for the gateway's own URL."""
    return urlsplit(server.url).netloc


# --- Cross-site request forgery ------------------------------------------------------------


async def test_the_cleanup_repro_from_another_site_is_403_and_deletes_nothing(
    client: httpx.AsyncClient, storage: Responder
) -> None:
    response = await client.post(
        CLEANUP, content=WIPE_ALL, headers={"Origin": EVIL, "Content-Type": "text/plain"}
    )
    assert_problem(response, 403, "evil.example")
    assert storage.asked(subjects.QUERY_CLEANUP) == []


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": EVIL},
        {"Origin": EVIL, "Sec-Fetch-Site": "cross-site"},
        {"Origin": "null"},  # a sandboxed frame or a no-referrer page
        {"Referer": f"{EVIL}/page.html"},  # an old browser that sends no Origin
        {"Sec-Fetch-Site": "cross-site"},
        {"Origin": "http://127.0.0.1:1", "Sec-Fetch-Site": "same-site"},  # another local port
    ],
    ids=["origin", "fetch-metadata", "null-origin", "referer", "site-only", "other-port"],
)
@pytest.mark.parametrize(("path", "body"), POSTS, ids=[path for path, _ in POSTS])
async def test_every_post_from_another_origin_is_403_and_reaches_nobody(
    client: httpx.AsyncClient,
    storage: Responder,
    app: Litestar,
    headers: dict[str, str],
    path: str,
    body: object,
) -> None:
    monitoring_before = gateway_of(app).live.monitoring_status
    response = await client.post(f"{API}{path}", json=body, headers=headers)
    assert_problem(response, 403, "origin")
    assert storage.requests == {}
    assert gateway_of(app).live.monitoring_status == monitoring_before


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("text/plain", WIPE_ALL),
        ("application/x-www-form-urlencoded", "days_to_keep=0"),
        ("multipart/form-data; boundary=x", '--x\r\nContent-Disposition: form-data; name="a"'),
        ("application/jsonp", WIPE_ALL),
    ],
    ids=["text", "form", "multipart", "lookalike"],
)
async def test_a_state_change_takes_json_only_even_from_the_same_origin(
    client: httpx.AsyncClient,
    live_server: AppServer,
    storage: Responder,
    content_type: str,
    body: str,
) -> None:
    headers = same_origin(live_server) | {"Content-Type": content_type}
    response = await client.post(CLEANUP, content=body, headers=headers)
    assert_problem(response, 415, "application/json")
    assert storage.asked(subjects.QUERY_CLEANUP) == []


async def test_a_body_without_a_content_type_is_415(
    client: httpx.AsyncClient, storage: Responder
) -> None:
    response = await client.post(CLEANUP, content=WIPE_ALL.encode())
    assert "content-type" not in response.request.headers
    assert_problem(response, 415)
    assert storage.asked(subjects.QUERY_CLEANUP) == []


@pytest.mark.parametrize(("path", "body"), POSTS, ids=[path for path, _ in POSTS])
async def test_the_dashboard_s_own_posts_work_without_a_token(
    client: httpx.AsyncClient, live_server: AppServer, storage: Responder, path: str, body: object
) -> None:
    response = await client.post(f"{API}{path}", json=body, headers=same_origin(live_server))
    assert response.status_code == 200, response.text


async def test_a_json_post_with_a_charset_is_json(
    client: httpx.AsyncClient, live_server: AppServer, storage: Responder
) -> None:
    headers = same_origin(live_server) | {"Content-Type": "application/json; charset=utf-8"}
    response = await client.post(CLEANUP, content='{"days_to_keep": 30}', headers=headers)
    assert response.status_code == 200, response.text


async def test_a_script_without_browser_headers_is_not_a_cross_site_request(
    client: httpx.AsyncClient, storage: Responder
) -> None:
    # curl, the selftest and other scripts send no Origin: no web page is involved.
    response = await client.post(CLEANUP, json={"days_to_keep": 30})
    assert response.status_code == 200, response.text
    stop = await client.post(f"{API}/monitoring/stop")  # no body, no content type
    assert stop.status_code == 200, stop.text


class TestWithAToken:
    @pytest.fixture
    def settings(self, make_settings: SettingsFactory) -> GatewaySettings:
        return make_settings(api_token=TOKEN)

    @pytest.mark.parametrize(("path", "body"), POSTS, ids=[path for path, _ in POSTS])
    async def test_the_bearer_token_is_the_operator_without_any_origin(
        self, client: httpx.AsyncClient, storage: Responder, path: str, body: object
    ) -> None:
        response = await client.post(
            f"{API}{path}", json=body, headers={"Authorization": f"Bearer {TOKEN}"}
        )
        assert response.status_code == 200, response.text

    async def test_the_dashboard_with_the_token_works(
        self, client: httpx.AsyncClient, live_server: AppServer, storage: Responder
    ) -> None:
        headers = same_origin(live_server) | {"Authorization": f"Bearer {TOKEN}"}
        response = await client.post(CLEANUP, json={"days_to_keep": 30}, headers=headers)
        assert response.status_code == 200, response.text

    async def test_a_same_origin_post_without_the_token_is_401(
        self, client: httpx.AsyncClient, live_server: AppServer, storage: Responder
    ) -> None:
        response = await client.post(
            CLEANUP, json={"days_to_keep": 0}, headers=same_origin(live_server)
        )
        assert_problem(response, 401)
        assert storage.requests == {}

    async def test_another_site_is_refused_whatever_it_sends(
        self, client: httpx.AsyncClient, storage: Responder
    ) -> None:
        headers = {"Origin": EVIL, "Authorization": f"Bearer {TOKEN}"}
        response = await client.post(CLEANUP, json={"days_to_keep": 0}, headers=headers)
        assert_problem(response, 403)
        assert storage.requests == {}


# --- DNS rebinding: the Host header -------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [f"{API}/summary", f"{API}/status", "/ollama-performance-dashboard", "/metrics", "/schema"],
)
async def test_a_get_under_a_forged_host_is_refused(
    client: httpx.AsyncClient, live_server: AppServer, storage: Responder, path: str
) -> None:
    port = urlsplit(live_server.url).port
    response = await client.get(path, headers={"Host": f"evil.example:{port}"})
    assert response.status_code == 400, response.text
    assert "invalid host" in response.text
    assert storage.requests == {}


async def test_the_stream_under_a_forged_host_is_refused(
    client: httpx.AsyncClient, live_server: AppServer
) -> None:
    port = urlsplit(live_server.url).port
    response = await client.get(f"{API}/stream", headers={"Host": f"evil.example:{port}"})
    assert response.status_code == 400, response.text
    assert gateway_of(live_server.app).fanout.client_count == 0


async def test_a_rebound_page_that_looks_same_origin_is_refused(
    client: httpx.AsyncClient, live_server: AppServer, storage: Responder
) -> None:
    # After rebinding, evil.example:<port> points at the gateway: to the browser the page
    # and the API are one origin, so only the Host name gives it away.
    rebound = f"evil.example:{urlsplit(live_server.url).port}"
    headers = {"Host": rebound, "Origin": f"http://{rebound}", "Sec-Fetch-Site": "same-origin"}
    response = await client.post(CLEANUP, json={"days_to_keep": 0}, headers=headers)
    assert response.status_code == 400, response.text
    assert storage.requests == {}


@pytest.mark.parametrize("name", ["localhost", "127.0.0.1", "[::1]"])
async def test_the_loopback_names_with_the_port_are_answered(
    client: httpx.AsyncClient, live_server: AppServer, storage: Responder, name: str
) -> None:
    port = urlsplit(live_server.url).port
    response = await client.get(f"{API}/summary", headers={"Host": f"{name}:{port}"})
    assert response.status_code == 200, response.text


async def test_the_same_name_on_another_port_is_refused(
    client: httpx.AsyncClient, storage: Responder
) -> None:
    response = await client.get(f"{API}/summary", headers={"Host": "127.0.0.1:1"})
    assert response.status_code == 400, response.text


class TestBehindAReverseProxy:
    @pytest.fixture
    def settings(self, make_settings: SettingsFactory) -> GatewaySettings:
        return make_settings(gateway_allowed_hosts=["ollamon.example.org", "*.lab.example"])

    @pytest.mark.parametrize("name", ["ollamon.example.org", "gpu1.lab.example"])
    async def test_the_configured_names_are_answered(
        self, client: httpx.AsyncClient, storage: Responder, name: str
    ) -> None:
        response = await client.get(f"{API}/summary", headers={"Host": name})
        assert response.status_code == 200, response.text

    async def test_a_page_served_under_a_configured_name_may_post(
        self, client: httpx.AsyncClient, storage: Responder
    ) -> None:
        # The proxy passes its own Host upstream; the browser's Origin names the public one.
        headers = {"Origin": "https://ollamon.example.org"}
        response = await client.post(CLEANUP, json={"days_to_keep": 30}, headers=headers)
        assert response.status_code == 200, response.text

    async def test_other_names_are_still_refused(
        self, client: httpx.AsyncClient, storage: Responder
    ) -> None:
        response = await client.get(f"{API}/summary", headers={"Host": "lab.example.evil"})
        assert response.status_code == 400, response.text


def test_the_default_hosts_are_the_bound_host_and_the_loopback_names_with_the_port(
    make_settings: SettingsFactory,
) -> None:
    settings = make_settings(gateway_host="192.0.2.7", gateway_port=8123)
    assert set(settings.allowed_hosts()) == {
        "192.0.2.7:8123",
        "localhost:8123",
        "127.0.0.1:8123",
        "[::1]:8123",
    }
    plain_http = make_settings(gateway_host="127.0.0.1", gateway_port=80)
    assert "localhost" in plain_http.allowed_hosts()
    extra = make_settings(gateway_allowed_hosts=["ollamon.example.org"])
    assert "ollamon.example.org" in extra.allowed_hosts()


# --- Hostile input ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    ["[" * 1000 + "]" * 1000, '{"days_to_keep":' + "[" * 5000 + "]" * 5000 + "}"],
    ids=["array", "in-a-field"],
)
async def test_json_nested_a_thousand_deep_is_a_400_problem(
    client: httpx.AsyncClient, storage: Responder, body: str
) -> None:
    response = await client.post(
        CLEANUP, content=body, headers={"Content-Type": "application/json"}
    )
    assert_problem(response, 400, "nested")
    assert storage.requests == {}


async def test_a_body_that_is_not_json_is_a_400_problem(
    client: httpx.AsyncClient, storage: Responder
) -> None:
    response = await client.post(
        CLEANUP, content=b"{days_to_keep: 0", headers={"Content-Type": "application/json"}
    )
    assert_problem(response, 400, "JSON")
    assert storage.requests == {}


@pytest.mark.parametrize("length", [513, 5000])
async def test_an_over_long_model_name_in_the_path_is_a_400_problem(
    client: httpx.AsyncClient, storage: Responder, length: int
) -> None:
    response = await client.get(f"{API}/metrics/{'m' * length}")
    assert_problem(response, 400, "model_name")
    assert storage.asked(subjects.QUERY_MODEL_METRICS) == []


@pytest.mark.parametrize("filepath", ["e" * 256, f"{'d' * 300}/export.json", "x/" * 600])
async def test_an_over_long_export_name_is_a_400_problem(
    client: httpx.AsyncClient, storage: Responder, filepath: str
) -> None:
    response = await client.post(f"{API}/export", json={"format": "json", "filepath": filepath})
    assert_problem(response, 400, "filepath")
    assert storage.asked(subjects.QUERY_EXPORT) == []


# --- The health check: no side effects, at most one check per interval --------------------


async def test_two_hundred_concurrent_health_gets_ask_the_probe_once_and_write_nothing(
    client: httpx.AsyncClient, gateway_bus: Bus, probe: Responder
) -> None:
    replies = await asyncio.gather(*(client.get("/api/ai/ollama/health") for _ in range(200)))
    assert {reply.status_code for reply in replies} == {200}
    assert {reply.json()["results"][0]["ollama_url"] for reply in replies} == {OLLAMA_URL}
    assert len(probe.asked(subjects.CONTROL_HEALTH_CHECK)) == 1
    # Nothing queued for storage by the gateway (it used to publish each result: one row each).
    assert await gateway_bus.flush_outbox(timeout=5.0)
    assert gateway_bus.counters["published"] == 0


async def test_health_within_the_interval_is_answered_from_memory(
    client: httpx.AsyncClient, probe: Responder
) -> None:
    for _ in range(5):
        response = await client.get("/api/ai/ollama/health")
        assert response.status_code == 200, response.text
    assert len(probe.asked(subjects.CONTROL_HEALTH_CHECK)) == 1


class TestAShortHealthInterval:
    @pytest.fixture
    def settings(self, make_settings: SettingsFactory) -> GatewaySettings:
        return make_settings(health_check_interval_seconds=0.2)

    async def test_once_the_interval_has_passed_the_probe_is_asked_again(
        self, client: httpx.AsyncClient, probe: Responder
    ) -> None:
        assert (await client.get("/api/ai/ollama/health")).status_code == 200

        async def asked_twice() -> bool:
            assert (await client.get("/api/ai/ollama/health")).status_code == 200
            return len(probe.asked(subjects.CONTROL_HEALTH_CHECK)) == 2

        await wait_for_async(asked_twice, message="a second check after the interval")


async def test_a_fresh_health_event_answers_without_asking_the_probe(
    client: httpx.AsyncClient, app: Litestar, publisher: Bus, probe: Responder
) -> None:
    await publisher.publish(OllamaHealth(host=HOST, ollama_url=OLLAMA_URL, up=False))
    await wait_for(lambda: gateway_of(app).live.ollama, message="health event seen")
    response = await client.get("/api/ai/ollama/health")
    assert response.status_code == 200, response.text
    assert response.json()["results"][0]["up"] is False
    assert probe.asked(subjects.CONTROL_HEALTH_CHECK) == []


async def test_without_a_probe_health_is_503_and_asks_once_per_interval(
    client: httpx.AsyncClient, publisher: Bus
) -> None:
    # Somebody hears the checks but never answers: each ask times out.
    heard: list[object] = []

    async def listen(msg: object) -> None:
        heard.append(msg)

    await publisher.nc.subscribe(subjects.CONTROL_HEALTH_CHECK.subject, cb=listen)
    await publisher.nc.flush()
    for _ in range(3):
        assert_problem(await client.get("/api/ai/ollama/health"), 503, "probe")
    await publisher.nc.flush()
    assert len(heard) == 1


@pytest.mark.parametrize("pattern", ["ollamon.*.org", "*ollamon.org", "*.*.org"])
def test_a_wildcard_inside_a_name_is_a_settings_error(
    make_settings: SettingsFactory, pattern: str
) -> None:
    with pytest.raises(ValidationError, match="stands alone"):
        make_settings(gateway_allowed_hosts=[pattern])
