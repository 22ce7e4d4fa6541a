"""The gateway app factory: REST, SSE, Prometheus metrics and the dashboard."""

from __future__ import annotations

import contextlib
import inspect
import logging
from collections.abc import AsyncIterator
from typing import Any

import nats.errors
from litestar import Litestar
from litestar.config.allowed_hosts import AllowedHostsConfig
from litestar.connection import ASGIConnection
from litestar.datastructures import State
from litestar.di import Provide
from litestar.handlers.base import BaseRouteHandler
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme
from litestar.types import Guard

from ollamon_core import __version__, subjects
from ollamon_core.bus import Bus
from ollamon_gateway.auth import BEARER_SCHEME, token_guard
from ollamon_gateway.problems import problem_details_plugin
from ollamon_gateway.resources import Gateway
from ollamon_gateway.routes.alerting import AlertingController
from ollamon_gateway.routes.benchmarks import BenchmarksController
from ollamon_gateway.routes.dashboard import dashboard_routes
from ollamon_gateway.routes.docs import favicon_route, render_plugins, with_docs_policy
from ollamon_gateway.routes.exports import download_export
from ollamon_gateway.routes.forecasts import ForecastsController
from ollamon_gateway.routes.health import HealthChecks, ollama_health
from ollamon_gateway.routes.metrics import prometheus_metrics
from ollamon_gateway.routes.performance import PerformanceController
from ollamon_gateway.routes.stream import stream
from ollamon_gateway.same_origin import json_body_guard, same_origin_guard
from ollamon_gateway.settings import GatewaySettings

log = logging.getLogger(__name__)


def _on_the_loop(guard: Guard) -> Guard:
    """`guard` (a plain function) run on the event loop: Litestar runs a sync guard in its
    thread pool, a round trip of ~0.1 ms on every request for a few header reads (the two
    sync guards were most of what /status cost over a bare app: bench rest_keepalive)."""

    async def on_the_loop(
        connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
    ) -> None:
        outcome = guard(connection, handler)
        if inspect.isawaitable(outcome):
            await outcome

    return on_the_loop


def _openapi() -> OpenAPIConfig:
    return OpenAPIConfig(
        title="ollamon",
        version=__version__,
        description=(
            "Performance of local LLM servers (Ollama): REST API of the gateway. Every error"
            " is RFC 9457 problem details (`application/problem+json`)."
        ),
        render_plugins=render_plugins(),
        use_handler_docstrings=True,  # each operation's docstring is its description
        components=Components(
            security_schemes={
                BEARER_SCHEME: SecurityScheme(
                    type="http",
                    scheme="bearer",
                    description="Needed on POST, PUT and DELETE when OLLAMON_API_TOKEN is set",
                )
            }
        ),
    )


def create_app(settings: GatewaySettings, bus: Bus) -> Litestar:
    """Build the gateway app around a connected bus.

    The app's lifespan holds the NATS subscriptions (every event subject) that feed the
    live state, the Prometheus metrics and every stream client.
    """
    gateway = Gateway.build(settings, bus)
    health_checks = HealthChecks(settings.health_check_interval_seconds)
    allowed_hosts = settings.allowed_hosts()

    @contextlib.asynccontextmanager
    async def live_events(_: Litestar) -> AsyncIterator[None]:
        # Only subjects that carry events: dead letters (up to max_payload each) and queries
        # under `ollamon.>` would fill the server's per-client buffer in a flood and get the
        # gateway cut off as a slow consumer.
        subscriptions = [
            await bus.subscribe(pattern, gateway.on_event) for pattern in subjects.SUBJECT_MODELS
        ]
        try:
            yield
        finally:
            gateway.fanout.close()
            for subscription in subscriptions:
                with contextlib.suppress(nats.errors.Error):
                    await subscription.unsubscribe()

    return Litestar(
        route_handlers=[
            PerformanceController,
            AlertingController,
            BenchmarksController,
            ForecastsController,
            stream,
            ollama_health,
            prometheus_metrics,
            download_export,
            favicon_route(),
            *dashboard_routes(),
        ],
        dependencies={
            "gateway": Provide(lambda: gateway, sync_to_thread=False),
            "health_checks": Provide(lambda: health_checks, sync_to_thread=False),
        },
        # A `Host` the gateway does not go by is a 400 before any handler runs (DNS
        # rebinding); then a POST must come from no web page or the gateway's own, carry the
        # token when one is set, and be JSON.
        allowed_hosts=AllowedHostsConfig(allowed_hosts=allowed_hosts, www_redirect=False),
        guards=[
            _on_the_loop(same_origin_guard(allowed_hosts)),
            _on_the_loop(token_guard(settings.api_token)),
            json_body_guard,
        ],
        lifespan=[live_events],
        plugins=[problem_details_plugin()],
        openapi_config=_openapi(),
        after_request=with_docs_policy,
        state=State({"gateway": gateway}),
        # The service configured logging once at its entry; keep that format.
        logging_config=None,
    )
