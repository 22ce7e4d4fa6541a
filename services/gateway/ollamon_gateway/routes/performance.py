"""The REST API under `/api/ai/ollama/performance` (the seed's paths and bodies)."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromQuery, JSONBody, PathParameter, QueryParameter

from ollamon_core import subjects
from ollamon_core.events import MonitoringAction, MonitoringControl, OllamaHealth, Severity
from ollamon_core.events.limits import MAX_HOST_CHARS
from ollamon_core.events.queries import (
    MAX_HOURS,
    AlertsQuery,
    AlertsReply,
    CleanupReply,
    CleanupRequest,
    ExportReply,
    ExportRequest,
    LifecycleQuery,
    LifecycleReply,
    ModelMetricsQuery,
    ModelMetricsReply,
    SummaryQuery,
    SummaryReply,
    SystemHistoryQuery,
    SystemHistoryReply,
    TrendBucket,
    TrendsQuery,
    TrendsReply,
)
from ollamon_gateway.api_models import (
    MonitoringStartBody,
    MonitoringStatus,
    StatusReply,
    SummaryResponse,
)
from ollamon_gateway.auth import BEARER_SCHEME
from ollamon_gateway.openapi_docs import STATE_CHANGE, STORAGE_READ, problem_responses
from ollamon_gateway.problems import bad_request
from ollamon_gateway.resources import GatewayDep, build_query

Hours = Annotated[
    float, QueryParameter(gt=0, le=MAX_HOURS, description="Look back this many hours")
]
Host = Annotated[
    str | None,
    QueryParameter(
        min_length=1,
        max_length=MAX_HOST_CHARS,
        description=(
            "Only this host's data (its `OLLAMON_HOST_LABEL`); a host storage has no event of "
            "is a 404 problem"
        ),
    ),
]
POST_SECURITY: list[dict[str, list[str]]] = [{BEARER_SCHEME: []}]


class PerformanceController(Controller):
    """Summaries and history (from storage), monitoring control and service status."""

    path = "/api/ai/ollama/performance"
    tags = ["performance"]

    @get(
        "/summary",
        summary="Summary of every host and model",
        responses=problem_responses(*STORAGE_READ),
    )
    async def summary(
        self, gateway: GatewayDep, hours: Hours = 24.0, host: Host = None
    ) -> SummaryResponse:
        """Monitoring state, one row per (host, model), each host, the fleet, alerts, advice.

        Each host's Ollama state is the gateway's live one where it has heard from that
        host's probe, else the latest storage kept.
        """
        query = build_query(SummaryQuery, hours=hours, host=host)
        reply: SummaryReply = await gateway.request(subjects.QUERY_SUMMARY, query)
        services = gateway.live.services()
        hosts = [
            summary.model_copy(update=live_ollama(live)) if live else summary
            for summary in reply.hosts
            for live in [gateway.live.ollama_health(summary.host)]
        ]
        down = sum(1 for summary in hosts if summary.ollama_up is False)
        return SummaryResponse(
            **dict(
                reply, hosts=hosts, fleet=reply.fleet.model_copy(update={"hosts_ollama_down": down})
            ),
            monitoring=gateway.live.monitoring_status,
            ollama=gateway.live.ollama_health(host),
            services_alive=sum(1 for service in services if service.alive),
        )

    @get(
        "/metrics/{model_name:path}",
        summary="One model's metrics",
        responses=problem_responses(
            *STORAGE_READ,
            e404="No requests of the model (on the host) in the period, or no such host",
        ),
    )
    async def model_metrics(
        self,
        gateway: GatewayDep,
        model_name: Annotated[
            str, PathParameter(description="The model name, `/` and `:` included")
        ],
        hours: Hours = 24.0,
        host: Host = None,
    ) -> ModelMetricsReply:
        """One model: requests, success rate, latency and TTFT percentiles, tokens/s, score.

        `by_host` has one row per host; without `host`, `summary` merges every host and
        carries no score (a score is one host's). The name is the rest of the path, so
        `library/llama3.2:1b` needs no escaping.
        """
        name = model_name.lstrip("/")
        if not name:
            raise bad_request("the model name is missing: use /metrics/<model name>")
        query = build_query(ModelMetricsQuery, model_name=name, hours=hours, host=host)
        reply: ModelMetricsReply = await gateway.request(subjects.QUERY_MODEL_METRICS, query)
        if reply.summary is None and not reply.recent:
            where = "" if host is None else f" on host {host!r}"
            raise NotFoundException(
                detail=f"no requests recorded for model {name!r}{where} in the last {hours:g} hours"
            )
        return reply

    @get("/metrics", include_in_schema=False)
    async def model_metrics_without_name(self) -> None:
        """The model name is part of the path; say so instead of a bare 404."""
        raise bad_request("the model name is missing: use /metrics/<model name>")

    @get("/system", summary="Host samples over time", responses=problem_responses(*STORAGE_READ))
    async def system(
        self,
        gateway: GatewayDep,
        hours: Hours = 1.0,
        limit: Annotated[int, QueryParameter(ge=1, le=2000)] = 500,
        host: Host = None,
    ) -> SystemHistoryReply:
        """System samples of the last `hours`, oldest first, evenly thinned to `limit`.

        Without `host`, every host's samples, each carrying its `host` and each host
        thinned to its share of `limit`: draw one series per host.
        """
        query = build_query(SystemHistoryQuery, hours=hours, limit=limit, host=host)
        reply: SystemHistoryReply = await gateway.request(subjects.QUERY_SYSTEM_HISTORY, query)
        return reply

    @get(
        "/alerts",
        summary="Alert history, firing alerts, audit and deliveries",
        responses=problem_responses(*STORAGE_READ),
    )
    async def alerts(
        self,
        gateway: GatewayDep,
        severity: FromQuery[Severity | None] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 100,
        host: Host = None,
        audit_limit: Annotated[
            int, QueryParameter(ge=0, le=1000, description="Most audit entries (newest first)")
        ] = 50,
        delivery_limit: Annotated[
            int,
            QueryParameter(
                ge=0, le=500, description="Most notification delivery outcomes (newest first)"
            ),
        ] = 50,
    ) -> AlertsReply:
        """Alert history (newest first), the alerts firing now, the audit trail of
        alerting's management (thresholds, silences, acknowledgements) and the notifier's
        delivery log, newest first."""
        query = build_query(
            AlertsQuery,
            severity=severity,
            limit=limit,
            host=host,
            audit_limit=audit_limit,
            delivery_limit=delivery_limit,
        )
        reply: AlertsReply = await gateway.request(subjects.QUERY_ALERTS, query)
        return reply

    @get(
        "/trends",
        summary="Request metrics per minute or hour",
        responses=problem_responses(*STORAGE_READ),
    )
    async def trends(
        self,
        gateway: GatewayDep,
        hours: Hours = 6.0,
        bucket: FromQuery[TrendBucket] = TrendBucket.MINUTE,
        model_name: Annotated[str | None, QueryParameter(max_length=512)] = None,
        host: Host = None,
    ) -> TrendsReply:
        """Per-minute or per-hour buckets of request metrics, one point per (bucket, host, model).

        Hosts are never merged: each point carries its `host`.
        """
        query = build_query(
            TrendsQuery, hours=hours, bucket=bucket, model_name=model_name, host=host
        )
        reply: TrendsReply = await gateway.request(subjects.QUERY_TRENDS, query)
        return reply

    @get(
        "/lifecycle", summary="Model loads and unloads", responses=problem_responses(*STORAGE_READ)
    )
    async def lifecycle(
        self,
        gateway: GatewayDep,
        hours: Hours = 24.0,
        limit: Annotated[int, QueryParameter(ge=1, le=2000)] = 200,
        host: Host = None,
    ) -> LifecycleReply:
        """Model loads, unloads and evictions, newest first."""
        query = build_query(LifecycleQuery, hours=hours, limit=limit, host=host)
        reply: LifecycleReply = await gateway.request(subjects.QUERY_LIFECYCLE, query)
        return reply

    @post(
        "/monitoring/start",
        status_code=200,
        security=POST_SECURITY,
        summary="Start monitoring",
        responses=problem_responses(*STATE_CHANGE),
    )
    async def start_monitoring(
        self, gateway: GatewayDep, data: JSONBody[MonitoringStartBody | None] = None
    ) -> MonitoringStatus:
        """Start sampling (collector and probe), optionally at a new interval in seconds."""
        interval = data.interval if data is not None else None
        return await _control(gateway, MonitoringAction.START, interval)

    @post(
        "/monitoring/stop",
        status_code=200,
        security=POST_SECURITY,
        summary="Stop monitoring",
        responses=problem_responses(*STATE_CHANGE),
    )
    async def stop_monitoring(self, gateway: GatewayDep) -> MonitoringStatus:
        """Stop sampling until the next start."""
        return await _control(gateway, MonitoringAction.STOP, None)

    @get("/status", summary="Services, NATS and the stream", responses=problem_responses(400))
    async def status(self, gateway: GatewayDep) -> StatusReply:
        """Each service's last heartbeat, version, state and counters; NATS; the stream; each
        Ollama server's health and what it holds in memory."""
        return StatusReply(
            monitoring=gateway.live.monitoring_status,
            services=gateway.live.services(),
            missing_services=gateway.live.missing_services(),
            nats=gateway.nats_status(),
            stream=gateway.stream_status(),
            ollama=gateway.live.ollama_health(),
            loaded=gateway.live.loaded_models(),
        )

    @post(
        "/export",
        status_code=200,
        security=POST_SECURITY,
        summary="Export the history to a file",
        responses=problem_responses(*STATE_CHANGE, 409, 503, 507),
    )
    async def export(self, gateway: GatewayDep, data: JSONBody[ExportRequest]) -> ExportReply:
        """Export the history as JSON or CSV (storage writes it inside its export folder).

        Answers the file's path (CSV: each table's file in `files`): download it with
        `GET .../export/{path}`. An existing file is never overwritten (409).
        """
        reply: ExportReply = await gateway.request(subjects.QUERY_EXPORT, data, long=True)
        return reply

    @post(
        "/cleanup",
        status_code=200,
        security=POST_SECURITY,
        summary="Delete old history",
        responses=problem_responses(
            *STATE_CHANGE,
            503,
            e400="The body did not validate, e.g. `days_to_keep: 0` without `confirm: true`",
        ),
    )
    async def cleanup(self, gateway: GatewayDep, data: JSONBody[CleanupRequest]) -> CleanupReply:
        """Delete history older than `days_to_keep` days, then apply storage's row caps.

        `days_to_keep: 0` deletes the whole history: it is a 400 problem unless the body
        also says `confirm: true`.
        """
        reply: CleanupReply = await gateway.request(subjects.QUERY_CLEANUP, data, long=True)
        return reply


def live_ollama(live: list[OllamaHealth]) -> dict[str, object]:
    """A host summary's Ollama fields from the gateway's live health of that host."""
    return {"ollama": live, "ollama_up": all(health.up for health in live)}


async def _control(
    gateway: GatewayDep, action: MonitoringAction, interval_seconds: float | None
) -> MonitoringStatus:
    control = MonitoringControl(
        host=gateway.settings.host_label, action=action, interval_seconds=interval_seconds
    )
    await gateway.bus.publish(control)
    # Applied here too, so the answer is the new state even before the bus echoes it back.
    return gateway.live.apply_control(control)
