"""`GET /metrics`: Prometheus text format, for an existing Prometheus and Grafana."""

from __future__ import annotations

from litestar import Response, get

from ollamon_gateway.exporter import CONTENT_TYPE
from ollamon_gateway.resources import GatewayDep


@get("/metrics", tags=["metrics"], media_type=CONTENT_TYPE)
async def prometheus_metrics(gateway: GatewayDep) -> Response[bytes]:
    """Per-model request counters, latency and TTFT histograms, tokens/s, host and GPU
    gauges, firing alerts, stream clients."""
    body = gateway.exporter.render(
        sse_clients=gateway.fanout.client_count, sse_dropped=gateway.fanout.frames_dropped
    )
    return Response(body, media_type=CONTENT_TYPE)
