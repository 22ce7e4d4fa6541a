"""`GET /metrics`: Prometheus text format, for an existing Prometheus and Grafana."""

from __future__ import annotations

from anyio import to_thread
from litestar import Response, get

from ollamon_gateway.exporter import CONTENT_TYPE
from ollamon_gateway.resources import GatewayDep


@get("/metrics", tags=["metrics"], media_type=CONTENT_TYPE)
async def prometheus_metrics(gateway: GatewayDep) -> Response[bytes]:
    """Per-model request counters and duration histograms, loaded models, Ollama's state,
    host and GPU gauges in base units, firing alerts, ollamon's own process (README,
    "Prometheus metrics")."""
    # In a worker thread: the process collector reads /proc, which must not block the loop.
    body = await to_thread.run_sync(
        lambda: gateway.exporter.render(
            sse_clients=gateway.fanout.client_count, sse_dropped=gateway.fanout.frames_dropped
        )
    )
    return Response(body, media_type=CONTENT_TYPE)
