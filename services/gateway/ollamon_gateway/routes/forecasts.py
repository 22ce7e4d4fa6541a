"""`/api/ai/ollama/performance/forecasts`: when each disk, host memory and GPU memory will be
full at its recent rate, per host (storage's `ollamon.query.forecasts`)."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get
from litestar.params import QueryParameter

from ollamon_core import subjects
from ollamon_core.events.forecast_queries import ForecastsQuery, ForecastsReply
from ollamon_core.events.limits import MAX_HOST_CHARS
from ollamon_gateway.openapi_docs import STORAGE_READ, problem_responses
from ollamon_gateway.resources import GatewayDep


class ForecastsController(Controller):
    """Forecasts of the resources that fill up."""

    path = "/api/ai/ollama/performance/forecasts"
    tags = ["performance"]

    @get(
        "/",
        summary="When each disk, memory and GPU memory will be full",
        responses=problem_responses(*STORAGE_READ),
    )
    async def forecasts(
        self,
        gateway: GatewayDep,
        host: Annotated[
            str | None,
            QueryParameter(
                min_length=1,
                max_length=MAX_HOST_CHARS,
                description="Only this host (404 if unknown)",
            ),
        ] = None,
    ) -> ForecastsReply:
        """Each filling resource of the host (every host without `host`), soonest full first.

        Per resource (`kind` disk, memory or vram; `resource` the mount point, `memory` or
        the GPU): `used` and `capacity` (`unit` bytes, or percent for a sample without
        byte figures), the fill `rate_per_hour` of a least-squares line over the stored
        samples of the last day (disks) or 30 minutes (memory, VRAM) before the host's
        newest sample, and `seconds_to_full` at that rate with the ends of its 95 % interval
        (`soonest_seconds`, `latest_seconds`). `seconds_to_full` is null when the resource is
        not filling: flat, too noisy to tell, or too little history since the last cleanup
        (`points` 0: under ten points or under an hour, 5 minutes for memory and VRAM).
        `summary` says it in words: `disk / full in ~9 days at 2.1 GB/day`. The alerts
        `disk_full_forecast`, `memory_pressure_forecast` and `vram_pressure_forecast` fire
        from the same forecasts, live.
        """
        query = ForecastsQuery(host=host)  # the parameter carries the query's own bounds
        reply: ForecastsReply = await gateway.request(subjects.QUERY_FORECASTS, query)
        return reply
