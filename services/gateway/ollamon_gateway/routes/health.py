"""`GET /api/ai/ollama/health`: check Ollama now, through the probe."""

from __future__ import annotations

from litestar import get

from ollamon_core import subjects
from ollamon_core.events import HealthCheckReply, HealthCheckRequest
from ollamon_gateway.resources import GatewayDep


@get("/api/ai/ollama/health", tags=["health"])
async def ollama_health(gateway: GatewayDep) -> HealthCheckReply:
    """Ask the probe to poll every Ollama server now; its answer is recorded and returned."""
    request = HealthCheckRequest(host=gateway.settings.host_label)
    reply: HealthCheckReply = await gateway.request(subjects.CONTROL_HEALTH_CHECK, request)
    for result in reply.results:
        gateway.live.apply_health(result)
        # Persisted for the history; the event id makes a copy the probe also sent a no-op.
        gateway.bus.emit(result)
    return reply
