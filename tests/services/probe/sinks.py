"""The proxy served in-process with its events kept in a list instead of published: `Keep`,
and `proxy_in_front_of` a small upstream app (tests/services/probe/echo_upstream.py, ...)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from ollamon_core.events import Event
from ollamon_probe.proxy import ProxyApp, create_proxy_app
from ollamon_probe.residency import ResidencyBook
from ollamon_probe.server import proxy_limits, serving
from ollamon_probe.settings import ProbeSettings
from ollamon_probe.upstream import create_proxy_pool

Upstream = TypeVar("Upstream")


@dataclass
class Keep:
    """An event sink that keeps what it gets."""

    events: list[Event] = field(default_factory=list)

    def emit(self, event: Event) -> bool:
        self.events.append(event)
        return True


@dataclass
class SinkProxy:
    """A proxy served in-process whose events go to `sink`."""

    url: str
    app: ProxyApp
    sink: Keep


@contextlib.asynccontextmanager
async def sink_proxy(settings: ProbeSettings) -> AsyncIterator[SinkProxy]:
    """Serve the proxy for `settings`, under its own client limits, until the block ends."""
    sink = Keep()
    async with create_proxy_pool(settings) as upstream_pool:
        app = create_proxy_app(settings, sink, upstream_pool, ResidencyBook())
        limits = proxy_limits(settings)
        async with serving(app, "127.0.0.1", 0, limits, counters=app.counters) as url:
            yield SinkProxy(url, app, sink)


@dataclass
class FrontedProxy(SinkProxy, Generic[Upstream]):
    """A proxy in front of `upstream`, served at `upstream_url`."""

    upstream: Upstream
    upstream_url: str


@contextlib.asynccontextmanager
async def proxy_in_front_of(
    upstream: Upstream,
    ollama_url: Callable[[str], str] | None = None,
    **settings: Any,
) -> AsyncIterator[FrontedProxy[Upstream]]:
    """Serve the ASGI app `upstream` and a proxy in front of it; the proxy's Ollama URL is
    `ollama_url(upstream's URL)` when given, `settings` are further ProbeSettings fields."""
    async with serving(upstream, "127.0.0.1", 0) as upstream_url:
        probe_settings = ProbeSettings(
            ollama_urls=[ollama_url(upstream_url) if ollama_url else upstream_url],
            host_label="test-host",
            **settings,
        )
        async with sink_proxy(probe_settings) as proxy:
            yield FrontedProxy(proxy.url, proxy.app, proxy.sink, upstream, upstream_url)
