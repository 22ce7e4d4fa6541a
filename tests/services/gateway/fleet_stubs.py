"""A storage stand-in for two hosts: each query honours `host` the way storage does.

`gpu-a` and `gpu-b` both run `llama3.2:1b`; only `gpu-b` runs `qwen3:8b`. Their memory
sits at different levels (11 % and 50 %, the issue's repro), so a chart that joined the
two hosts' points would jump between them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import TypeVar

from pydantic import BaseModel

from ollamon_core import subjects
from ollamon_core.bus import QueryFailedError
from ollamon_core.events import OllamaHealth, OllamaSystemMetrics, utc_now
from ollamon_core.events import queries as q
from tests.services.gateway.stubs import Responder

RequestT = TypeVar("RequestT", bound=BaseModel)
ReplyT = TypeVar("ReplyT", bound=BaseModel)

HOST_A = "gpu-a"
HOST_B = "gpu-b"
HOSTS = (HOST_A, HOST_B)
SHARED_MODEL = "llama3.2:1b"
ONLY_B_MODEL = "qwen3:8b"
MEMORY_PERCENT = {HOST_A: 11.0, HOST_B: 50.0}
# Per host: p50, p95, TTFT p95 (ms), tokens/s, score of the shared model.
SHARED_MODEL_FIGURES = {
    HOST_A: (400.0, 900.0, 120.0, 61.5, 8.8),
    HOST_B: (1500.0, 4200.0, 650.0, 14.2, 4.1),
}


def host_sample(host: str, minutes_ago: float = 0.0) -> OllamaSystemMetrics:
    """One host's sample: its own steady memory level, no GPU."""
    return OllamaSystemMetrics(
        host=host,
        timestamp=utc_now() - timedelta(minutes=minutes_ago),
        cpu_usage_percent=20.0 if host == HOST_A else 70.0,
        memory_usage_percent=MEMORY_PERCENT[host],
        memory_available_gb=30.0,
        disk_usage_percent=40.0,
    )


def model_row(host: str, model_name: str) -> q.ModelSummary:
    """One (host, model) row."""
    p50, p95, ttft, tokens, score = SHARED_MODEL_FIGURES[host]
    if model_name == ONLY_B_MODEL:
        p50, p95, ttft, tokens, score = 2000.0, 5000.0, 800.0, 9.0, 3.0
    return q.ModelSummary(
        host=host,
        model_name=model_name,
        request_count=40 if host == HOST_A else 25,
        success_count=40 if host == HOST_A else 24,
        error_count=0 if host == HOST_A else 1,
        response_time_p50_ms=p50,
        response_time_p95_ms=p95,
        time_to_first_token_p95_ms=ttft,
        tokens_per_second_mean=tokens,
        last_used=utc_now() - timedelta(minutes=1),
        score=score,
    )


def rows_of(host: str | None) -> list[q.ModelSummary]:
    """The (host, model) rows of `host`, or of every host."""
    rows = [model_row(HOST_A, SHARED_MODEL), model_row(HOST_B, SHARED_MODEL)]
    rows.append(model_row(HOST_B, ONLY_B_MODEL))
    return [row for row in rows if host in (None, row.host)]


def host_summary(host: str) -> q.HostSummary:
    """One host's line in the summary."""
    rows = rows_of(host)
    return q.HostSummary(
        host=host,
        first_seen=utc_now() - timedelta(hours=2),
        last_seen=utc_now(),
        reporting=True,
        latest_system=host_sample(host),
        ollama=[OllamaHealth(host=host, ollama_url="http://127.0.0.1:11434", up=True)],
        ollama_up=True,
        model_count=len(rows),
        request_count=sum(row.request_count for row in rows),
        error_count=sum(row.error_count for row in rows),
        bypassed_requests=2 if host == HOST_B else 0,  # seen only in Ollama's log
    )


def summary(query: q.SummaryQuery) -> q.SummaryReply:
    """The fleet summary, or one host's."""
    hosts = HOSTS if query.host is None else (query.host,)
    models = rows_of(query.host)
    return q.SummaryReply(
        hours=query.hours,
        host=query.host,
        total_requests=sum(row.request_count for row in models),
        models=models,
        hosts=[host_summary(host) for host in hosts],
        fleet=q.FleetRollup(
            host_count=len(hosts),
            hosts_reporting=len(hosts),
            model_count=len({row.model_name for row in models}),
            total_requests=sum(row.request_count for row in models),
        ),
        latest_system=host_sample(query.host) if query.host else None,
    )


def system_history(query: q.SystemHistoryQuery) -> q.SystemHistoryReply:
    """Fifteen minutes of both hosts' samples, interleaved as storage stores them."""
    samples = [
        host_sample(host, minutes_ago=minute)
        for minute in range(14, 0, -1)
        for host in HOSTS
        if query.host in (None, host)
    ]
    return q.SystemHistoryReply(samples=samples, total_in_period=len(samples))


def model_metrics(query: q.ModelMetricsQuery) -> q.ModelMetricsReply:
    """One model's rows per host (the comparison's source) and every host's merged."""
    by_host = [row for row in rows_of(query.host) if row.model_name == query.model_name]
    merged = q.ModelSummary(
        model_name=query.model_name, request_count=sum(row.request_count for row in by_host)
    )
    return q.ModelMetricsReply(summary=merged if by_host else None, by_host=by_host)


def known_host_only(make_reply: Callable[[RequestT], ReplyT]) -> Callable[[RequestT], ReplyT]:
    """`make_reply`, but a `host` storage never stored fails with 404 as storage's does."""

    def reply(query: RequestT) -> ReplyT:
        host = getattr(query, "host", None)
        if host is not None and host not in HOSTS:
            raise QueryFailedError(
                q.QueryError(error=f"no events stored for host {host!r}", status_code=404)
            )
        return make_reply(query)

    return reply


def no_alerts(_: q.AlertsQuery) -> q.AlertsReply:
    """No alert, audit entry or delivery stored."""
    return q.AlertsReply()


async def serve_fleet_storage(
    responder: Responder, alerts: Callable[[q.AlertsQuery], q.AlertsReply] = no_alerts
) -> None:
    """Answer every query the dashboard makes, for two hosts (`alerts` for `/alerts`)."""
    await responder.answer(subjects.QUERY_SUMMARY, known_host_only(summary))
    await responder.answer(subjects.QUERY_SYSTEM_HISTORY, known_host_only(system_history))
    await responder.answer(subjects.QUERY_MODEL_METRICS, known_host_only(model_metrics))
    await responder.answer(subjects.QUERY_ALERTS, known_host_only(alerts))
    await responder.answer(subjects.QUERY_TRENDS, known_host_only(lambda _: q.TrendsReply()))
    await responder.answer(subjects.QUERY_LIFECYCLE, known_host_only(lambda _: q.LifecycleReply()))
