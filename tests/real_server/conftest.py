"""The real-server tier: llama.cpp's server (llama-cpp-python) on a tiny random model.

The model is written once per session (tests/support/llama_cpp.py, well under a second) and
one server serves the session; `proxied` puts the probe's proxy, served in-process and
publishing on the session's real NATS, in front of it with the events a subscriber got.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import openai
import pytest

from ollamon_core import subjects
from ollamon_core.events import Event, OllamaModelMetrics, ServiceName
from ollamon_probe.proxy import ProxyApp, create_proxy_app
from ollamon_probe.residency import ResidencyBook
from ollamon_probe.server import serving
from ollamon_probe.settings import ProbeSettings
from ollamon_probe.upstream import create_proxy_pool
from tests.conftest import BusFactory
from tests.support.llama_cpp import LlamaServer, start_llama_server, write_tiny_model
from tests.support.waiting import wait_for

CONTEXT_TOKENS = 512


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_model(tmp_path_factory.mktemp("llama") / "tiny-llama.gguf")


@pytest.fixture(scope="session")
def llama_server(
    tiny_model: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LlamaServer]:
    log = tiny_model.parent / "llama-server.log"
    server = start_llama_server(tiny_model, CONTEXT_TOKENS, log)
    try:
        yield server
    finally:
        server.stop()


@dataclass
class Proxied:
    """The proxy in front of the real server, and the request events it published."""

    url: str
    app: ProxyApp
    server: LlamaServer
    events: list[Event] = field(default_factory=list)

    def requests(self) -> list[OllamaModelMetrics]:
        return [event for event in self.events if isinstance(event, OllamaModelMetrics)]

    async def received(self, count: int = 1, timeout: float = 10) -> list[OllamaModelMetrics]:
        """The first `count` request events, once they arrived."""
        await wait_for(lambda: len(self.requests()) >= count, timeout, f"{count} request events")
        return self.requests()[:count]


@pytest.fixture
async def proxied(llama_server: LlamaServer, bus_factory: BusFactory) -> AsyncIterator[Proxied]:
    settings = ProbeSettings(ollama_urls=[llama_server.url], proxy_port=0, host_label="real")
    probe_bus = await bus_factory(ServiceName.PROBE)
    listener = await bus_factory(ServiceName.ALERTING)
    async with create_proxy_pool(settings) as pool:
        app = create_proxy_app(settings, probe_bus, pool, ResidencyBook())
        async with serving(app, "127.0.0.1", 0) as url:
            running = Proxied(url, app, llama_server)

            async def keep(event: Event, _msg: object) -> None:
                running.events.append(event)

            await listener.subscribe(subjects.REQUESTS_ALL, keep)
            await listener.nc.flush()
            yield running


@pytest.fixture
def openai_http() -> openai.DefaultAsyncHttpxClient:
    """The official client's HTTP client, built before the loop runs (building one reads
    the certificate files)."""
    return openai.DefaultAsyncHttpxClient(timeout=60)


@pytest.fixture
def direct_client(
    llama_server: LlamaServer, openai_http: openai.DefaultAsyncHttpxClient
) -> openai.AsyncOpenAI:
    """The official client straight to the real server."""
    return openai.AsyncOpenAI(
        base_url=f"{llama_server.url}/v1", api_key="none", max_retries=0, http_client=openai_http
    )


@pytest.fixture
def proxy_client(
    proxied: Proxied, openai_http: openai.DefaultAsyncHttpxClient
) -> openai.AsyncOpenAI:
    """The official client through the proxy."""
    return openai.AsyncOpenAI(
        base_url=f"{proxied.url}/v1", api_key="none", max_retries=0, http_client=openai_http
    )
