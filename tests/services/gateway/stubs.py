"""In-test stand-ins for storage and the probe, answering on the real bus.

They serve the real query subjects with typed replies built from sample data, and keep
every request they get, so tests can check what the gateway asked for.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, TypeVar

from nats.aio.subscription import Subscription
from pydantic import BaseModel

from ollamon_core import subjects
from ollamon_core.bus import Bus, QueryFailedError
from ollamon_core.events import (
    AlertState,
    BenchmarkAccepted,
    GpuSample,
    HealthCheckReply,
    LifecycleChange,
    ModelLifecycleEvent,
    OllamaHealth,
    OllamaModelMetrics,
    OllamaPerformanceAlert,
    OllamaSystemMetrics,
    Recommendation,
    Severity,
    utc_now,
)
from ollamon_core.events import queries as q
from ollamon_core.events.benchmark_queries import BenchmarksReply
from ollamon_core.subjects import QueryRoute
from tests.services.gateway.forecast_stubs import forecasts_reply

MODEL_WITH_TAG = "llama3.2:1b"
MODEL_WITH_NAMESPACE = "hf.co/bartowski/Qwen2.5-7B-Instruct-GGUF:Q4_K_M"
HOST = "test-host"
OLLAMA_URL = "http://127.0.0.1:11434"


def system_sample(minutes_ago: float = 0.0, cpu: float = 35.0) -> OllamaSystemMetrics:
    """A host sample with one GPU."""
    return OllamaSystemMetrics(
        host=HOST,
        timestamp=utc_now() - timedelta(minutes=minutes_ago),
        cpu_usage_percent=cpu,
        memory_usage_percent=61.0 + cpu / 10,
        memory_available_gb=24.5,
        disk_usage_percent=48.0,
        gpu_usage_percent=min(100.0, cpu * 1.8),
        gpu_memory_used_gb=9.4,
        gpu_memory_total_gb=24.0,
        gpu_detection="nvml",
        gpus=[
            GpuSample(
                index=0,
                name="NVIDIA RTX 4090",
                utilization_percent=min(100.0, cpu * 1.8),
                memory_used_bytes=9_400_000_000,
                memory_total_bytes=24_000_000_000,
                temperature_celsius=61.0,
            )
        ],
    )


def model_summary(name: str, requests: int, p95_ms: float, score: float) -> q.ModelSummary:
    """Aggregates for one model."""
    return q.ModelSummary(
        model_name=name,
        host=HOST,
        request_count=requests,
        success_count=requests - 1,
        error_count=1,
        success_rate_percent=100.0 * (requests - 1) / requests,
        response_time_p50_ms=p95_ms / 2.5,
        response_time_p95_ms=p95_ms,
        time_to_first_token_p95_ms=p95_ms / 8,
        tokens_per_second_mean=42.0 if score > 5 else 7.5,
        last_used=utc_now() - timedelta(minutes=2),
        score=score,
    )


def firing_alert(model_name: str = MODEL_WITH_NAMESPACE) -> OllamaPerformanceAlert:
    """A high-severity slow-response alert, firing."""
    return OllamaPerformanceAlert(
        host=HOST,
        alert_type="slow_response",
        severity=Severity.HIGH,
        message=f"{model_name} took 41.2 s (threshold 30 s)",
        model_name=model_name,
        metric_value=41200.0,
        threshold=30000.0,
        recommendation="Part of the model runs on the CPU: lower num_ctx or use a smaller quant",
        fingerprint=f"slow_response:{model_name}",
        state=AlertState.FIRING,
    )


def summary_reply() -> q.SummaryReply:
    """A storage summary with two models, a GPU, an alert and a recommendation."""
    alert = firing_alert()
    return q.SummaryReply(
        hours=24.0,
        total_requests=160,
        models=[
            model_summary(MODEL_WITH_TAG, 128, 1850.0, 8.6),
            model_summary(MODEL_WITH_NAMESPACE, 32, 38500.0, 3.1),
        ],
        latest_system=system_sample(),
        gpu_available=True,
        recent_alerts=[alert],
        active_alerts=[alert],
        recommendations=[
            Recommendation(
                setting="OLLAMA_NUM_PARALLEL",
                action="lower to 1",
                reason="requests queue behind each other on one GPU",
            )
        ],
    )


def trends_reply() -> q.TrendsReply:
    """Six hours of hourly buckets for two models."""
    now = utc_now().replace(minute=0, second=0, microsecond=0)
    points = [
        q.TrendPoint(
            bucket_start=now - timedelta(hours=hour),
            host=HOST,
            model_name=name,
            request_count=(7 - hour) * (5 if name == MODEL_WITH_TAG else 2),
            error_count=1 if hour == 3 else 0,
            response_time_p95_ms=1500.0 + hour * 900 * (3 if name != MODEL_WITH_TAG else 1),
        )
        for hour in range(6, -1, -1)
        for name in (MODEL_WITH_TAG, MODEL_WITH_NAMESPACE)
    ]
    return q.TrendsReply(points=points)


def lifecycle_reply() -> q.LifecycleReply:
    """A load, an eviction and a partial offload."""
    return q.LifecycleReply(
        events=[
            ModelLifecycleEvent(
                host=HOST,
                ollama_url=OLLAMA_URL,
                model_name=MODEL_WITH_NAMESPACE,
                change=LifecycleChange.LOADED,
                size_bytes=8_000_000_000,
                size_vram_bytes=5_500_000_000,
                partially_offloaded=True,
                timestamp=utc_now() - timedelta(minutes=12),
            ),
            ModelLifecycleEvent(
                host=HOST,
                ollama_url=OLLAMA_URL,
                model_name=MODEL_WITH_TAG,
                change=LifecycleChange.EVICTED,
                size_bytes=2_000_000_000,
                size_vram_bytes=2_000_000_000,
                evicted_by=MODEL_WITH_NAMESPACE,
                timestamp=utc_now() - timedelta(minutes=12, seconds=3),
            ),
        ]
    )


def model_metrics_reply(model_name: str) -> q.ModelMetricsReply:
    """One model's aggregates and its latest request."""
    return q.ModelMetricsReply(
        summary=model_summary(model_name, 10, 900.0, 7.0),
        recent=[OllamaModelMetrics(host=HOST, model_name=model_name, response_time_ms=812.0)],
    )


def health_reply() -> HealthCheckReply:
    """Ollama up."""
    return HealthCheckReply(
        host=HOST,
        results=[
            OllamaHealth(host=HOST, ollama_url=OLLAMA_URL, up=True, version="0.12.3"),
        ],
    )


RequestT = TypeVar("RequestT", bound=BaseModel)
ReplyT = TypeVar("ReplyT", bound=BaseModel)


@dataclass
class Responder:
    """Answers some request routes on the bus and records what it was asked."""

    bus: Bus
    requests: dict[QueryRoute[Any, Any], list[Any]] = field(default_factory=dict)
    failures: dict[QueryRoute[Any, Any], q.QueryError] = field(default_factory=dict)
    _subscriptions: list[Subscription] = field(default_factory=list)

    async def answer(
        self, route: QueryRoute[RequestT, ReplyT], make_reply: Callable[[RequestT], ReplyT]
    ) -> None:
        """Serve `route` with `make_reply(request)` (or the failure set for it)."""

        async def handle(request: RequestT) -> ReplyT:
            self.requests.setdefault(route, []).append(request)
            if route in self.failures:
                raise QueryFailedError(self.failures[route])
            return make_reply(request)

        self._subscriptions.append(await self.bus.serve(route, handle))
        await self.bus.nc.flush()

    def asked(self, route: QueryRoute[RequestT, Any]) -> list[RequestT]:
        """Requests received on `route`, oldest first."""
        return self.requests.get(route, [])

    async def stop(self) -> None:
        """Stop answering."""
        for subscription in self._subscriptions:
            await subscription.unsubscribe()
        self._subscriptions.clear()


# What the stand-in's export files hold (the download streams them in chunks).
EXPORT_CONTENT = b'{"format": "ollamon-export", "tables": {}}\n'


def export_chunk(request: q.ExportChunkRequest) -> q.ExportChunkReply:
    """A chunk of the stand-in's export file (every path holds `EXPORT_CONTENT`)."""
    data = EXPORT_CONTENT[request.offset : request.offset + request.length]
    return q.ExportChunkReply(size=len(EXPORT_CONTENT), offset=request.offset, data=data)


async def serve_storage(
    responder: Responder,
    export_folder: str = "exports",
    *,
    exports: bool = True,
    benchmarks: bool = True,
) -> None:
    """Answer every storage query with the sample data above (exports and benchmarks too,
    unless told)."""
    await responder.answer(subjects.QUERY_SUMMARY, lambda _: summary_reply())
    await responder.answer(
        subjects.QUERY_MODEL_METRICS,
        lambda request: (
            model_metrics_reply(request.model_name)
            if request.model_name in (MODEL_WITH_TAG, MODEL_WITH_NAMESPACE)
            else q.ModelMetricsReply()
        ),
    )
    await responder.answer(
        subjects.QUERY_SYSTEM_HISTORY,
        lambda request: q.SystemHistoryReply(
            samples=[
                system_sample(minutes_ago=m, cpu=30 + (m * 7) % 40) for m in range(14, -1, -1)
            ],
            total_in_period=15,
        ),
    )
    await responder.answer(
        subjects.QUERY_ALERTS,
        lambda request: q.AlertsReply(alerts=[firing_alert()], active=[firing_alert()]),
    )
    await responder.answer(subjects.QUERY_TRENDS, lambda _: trends_reply())
    await responder.answer(subjects.QUERY_LIFECYCLE, lambda _: lifecycle_reply())
    if exports:
        await responder.answer(
            subjects.QUERY_EXPORT,
            lambda request: q.ExportReply(
                path=f"{export_folder}/ollamon-export.{request.format.value}",
                row_counts={"requests": 160, "system": 15},
            ),
        )
        await responder.answer(subjects.QUERY_EXPORT_CHUNK, export_chunk)
    await responder.answer(
        subjects.QUERY_CLEANUP,
        lambda request: q.CleanupReply(deleted={"requests": 0, "system": 0}),
    )
    if benchmarks:
        await responder.answer(subjects.QUERY_BENCHMARKS, lambda _: BenchmarksReply())
    await responder.answer(subjects.QUERY_FORECASTS, forecasts_reply)


async def serve_probe(responder: Responder) -> None:
    """Answer health checks (Ollama up) and take every benchmark run."""
    await responder.answer(subjects.CONTROL_HEALTH_CHECK, lambda _: health_reply())
    await responder.answer(
        subjects.CONTROL_BENCHMARK,
        lambda request: BenchmarkAccepted(run_id="run-1", models=request.models, total_steps=1),
    )
