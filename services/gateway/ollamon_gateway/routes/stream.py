"""`GET /api/ai/ollama/performance/stream`: live events as server-sent events."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from litestar import get
from litestar.params import HeaderParameter
from litestar.response import Stream

from ollamon_gateway.fanout import ClientQueue, Fanout
from ollamon_gateway.openapi_docs import problem_responses
from ollamon_gateway.resources import GatewayDep

RETRY_MILLISECONDS = 3000
STREAM_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


async def client_frames(
    fanout: Fanout, last_event_id: int | None, heartbeat_seconds: float
) -> AsyncIterator[bytes]:
    """One client's stream: replay, then live frames, with comment heartbeats when idle."""
    client: ClientQueue = fanout.connect(last_event_id)
    try:
        yield b"retry: %d\n: connected\n\n" % RETRY_MILLISECONDS
        while True:
            batch = await client.next_batch(heartbeat_seconds)
            if batch:
                yield b"".join(batch)
            elif client.closed:
                return
            else:
                yield b": heartbeat\n\n"
    finally:
        # Synchronous on purpose: on disconnect Litestar cancels this generator's task, so
        # an await here would never finish (litestar#3772).
        fanout.disconnect(client)


@get(
    "/api/ai/ollama/performance/stream",
    media_type="text/event-stream",
    tags=["performance"],
    summary="Live events (server-sent events)",
    responses=problem_responses(400),
)
async def stream(
    gateway: GatewayDep,
    last_event_id: Annotated[
        int | None,
        HeaderParameter(name="Last-Event-ID", ge=0, description="Replay events after this id"),
    ] = None,
) -> Stream:
    """Typed events (`request`, `system`, `alert`, `score`, `lifecycle`, `health`, `models`,
    `heartbeat`, `monitoring`, `audit`, `notification`, `benchmark_progress`, `benchmark_run`)
    with increasing ids, as JSON; `: heartbeat` comments when idle.
    """
    return Stream(
        client_frames(gateway.fanout, last_event_id, gateway.settings.sse_heartbeat_seconds),
        media_type="text/event-stream",
        headers=STREAM_HEADERS,
    )
