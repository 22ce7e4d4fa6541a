"""An Ollama URL with credentials: they reach Ollama, and nothing the probe publishes or
answers holds them (events, health replies, labels, 502/504 bodies)."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator

import httpx
import openai
import pytest

from ollamon_core.events import HealthCheckRequest, OllamaHealth, OllamaModelMetrics
from ollamon_probe.hosts import host_labels
from ollamon_probe.residency import ResidencyBook
from ollamon_probe.server import serving
from ollamon_probe.settings import ProbeSettings
from ollamon_probe.watcher import Watcher
from tests.services.probe.echo_upstream import EchoUpstream
from tests.services.probe.sinks import FrontedProxy, Keep, proxy_in_front_of, sink_proxy
from tests.support.asgi import Receive, Scope, Send

PASSWORD = "s3cret-pw"
BASIC = b"Basic " + base64.b64encode(f"admin:{PASSWORD}".encode())
READ_TIMEOUT_SECONDS = 0.3


def with_credentials(url: str) -> str:
    return url.replace("http://", f"http://admin:{PASSWORD}@", 1)


CredentialProxy = FrontedProxy[EchoUpstream]
"""A proxy configured with `http://admin:<password>@<echo upstream>`."""


@pytest.fixture
async def credential_proxy() -> AsyncIterator[CredentialProxy]:
    async with proxy_in_front_of(
        EchoUpstream(), with_credentials, upstream_timeout_seconds=READ_TIMEOUT_SECONDS
    ) as proxy:
        yield proxy


async def refusing_ollama(scope: Scope, receive: Receive, send: Send) -> None:
    """An Ollama behind an auth proxy that refuses every request with 401."""
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 401, "headers": []})
    await send({"type": "http.response.body", "body": b"unauthorized"})


def test_host_labels_of_several_servers_never_hold_userinfo() -> None:
    labels = host_labels(
        [f"http://admin:{PASSWORD}@127.0.0.1:11434", f"http://admin:{PASSWORD}@127.0.0.1:11435"],
        "me",
    )
    assert sorted(labels.values()) == ["127.0.0.1:11434", "127.0.0.1:11435"]


async def test_the_proxy_sends_the_urls_credentials_as_basic_auth(
    credential_proxy: CredentialProxy,
) -> None:
    async with httpx.AsyncClient(base_url=credential_proxy.url) as http:
        await http.post("/api/generate", json={"model": "m1", "prompt": "x"})
        await http.get("/echo", headers={"Authorization": "Bearer the-clients-own"})
    assert credential_proxy.upstream.header(0, b"authorization") == [BASIC]
    assert credential_proxy.upstream.header(1, b"authorization") == [b"Bearer the-clients-own"]
    [event] = credential_proxy.sink.events
    assert isinstance(event, OllamaModelMetrics)
    assert event.ollama_url == credential_proxy.upstream_url
    assert PASSWORD not in event.model_dump_json()


async def test_a_504_off_the_openai_api_is_ollama_shaped_without_the_password(
    credential_proxy: CredentialProxy,
) -> None:
    async with httpx.AsyncClient(base_url=credential_proxy.url) as http:
        reply = await http.post("/hang", content=b"{}")
    assert reply.status_code == 504
    assert PASSWORD not in reply.text
    [message] = reply.json().values()
    assert message.startswith(
        f"ollamon proxy timed out waiting for Ollama at {credential_proxy.upstream_url}: "
    )


@pytest.fixture
def openai_client() -> openai.AsyncOpenAI:
    """Built before the loop runs (building one reads files); pointed at the proxy later."""
    return openai.AsyncOpenAI(base_url="http://127.0.0.1:9/v1", api_key="unused", max_retries=0)


async def test_a_502_on_the_openai_api_is_openai_shaped_without_the_password(
    openai_client: openai.AsyncOpenAI,
) -> None:
    settings = ProbeSettings(ollama_urls=[f"http://admin:{PASSWORD}@127.0.0.1:9"])
    async with sink_proxy(settings) as proxy:
        async with httpx.AsyncClient(base_url=proxy.url) as http:
            reply = await http.post("/v1/chat/completions", json={"model": "m1"})
        openai_client.base_url = f"{proxy.url}/v1/"
        with pytest.raises(openai.APIStatusError) as raised:
            await openai_client.chat.completions.create(
                model="m1", messages=[{"role": "user", "content": "x"}]
            )
    assert reply.status_code == 502
    assert PASSWORD not in reply.text
    error = reply.json()["error"]
    assert error["message"].startswith(
        "ollamon proxy could not reach Ollama at http://127.0.0.1:9: cannot connect"
    )
    assert (error["type"], error["param"], error["code"]) == ("api_error", None, None)
    assert (raised.value.status_code, raised.value.type) == (502, "api_error")
    assert "could not reach Ollama at http://127.0.0.1:9" in raised.value.message
    assert all(PASSWORD not in event.model_dump_json() for event in proxy.sink.events)
    assert len(proxy.sink.events) == 2


async def test_the_watcher_polls_with_basic_auth_and_publishes_the_redacted_url() -> None:
    upstream, sink = EchoUpstream(), Keep()
    async with serving(upstream, "127.0.0.1", 0) as url, httpx.AsyncClient() as http:
        watcher = Watcher({with_credentials(url): "box-1"}, sink, http, ResidencyBook(), 60.0)
        await watcher.poll_all()
        reply = await watcher.health_check(HealthCheckRequest())
    assert upstream.header(0, b"authorization") == [BASIC]
    assert [result.ollama_url for result in reply.results] == [url]
    assert sink.events, "the watcher published nothing"
    for event in sink.events:
        assert getattr(event, "ollama_url", url) == url
        assert PASSWORD not in event.model_dump_json()
    assert PASSWORD not in reply.model_dump_json()


async def test_an_ollama_refusing_the_credentials_is_reported_without_them() -> None:
    sink = Keep()
    async with serving(refusing_ollama, "127.0.0.1", 0) as url, httpx.AsyncClient() as http:
        watcher = Watcher({with_credentials(url): "box-1"}, sink, http, ResidencyBook(), 60.0)
        [health] = await watcher.poll_all()
    assert (health.up, health.ollama_url) == (False, url)
    # Refused credentials are not a reason to try another kind of server.
    assert health.error_message == "ServerError: GET /api/version: HTTP 401 Unauthorized"
    [event] = sink.events
    assert isinstance(event, OllamaHealth)
    assert PASSWORD not in json.dumps(event.model_dump(mode="json"))
