"""An exporter fed one event of every kind it reads, for tests of the whole exposition
(the conventions, and the names deploy/ uses)."""

from __future__ import annotations

from datetime import timedelta

from ollamon_core.events import (
    AlertState,
    CatalogModel,
    DeliveryOutcome,
    Heartbeat,
    InFlightRequests,
    LifecycleChange,
    LoadedModel,
    ModelLifecycleEvent,
    ModelScore,
    NotificationDelivery,
    OllamaHealth,
    OllamaModelMetrics,
    OllamaModelsSnapshot,
    OllamaSystemMetrics,
    ReceiverKind,
    ServiceName,
    utc_now,
)
from ollamon_gateway.exporter import MetricsExporter
from tests.services.gateway.stubs import HOST, OLLAMA_URL, firing_alert, system_sample

MODEL = "llama3.2:1b"


def request(**fields: object) -> OllamaModelMetrics:
    """A streamed request with every duration Ollama reports."""
    defaults: dict[str, object] = {
        "host": HOST,
        "model_name": MODEL,
        "response_time_ms": 2400.0,
        "time_to_first_token_ms": 180.0,
        "inter_chunk_gap_mean_ms": 21.0,
        "load_duration_ms": 1500.0,
        "prompt_eval_duration_ms": 80.0,
        "eval_duration_ms": 2000.0,
        "tokens_generated": 50,
        "tokens_input": 26,
        "tokens_per_second": 25.0,
        "context_utilization_percent": 40.0,
        "streamed": True,
    }
    return OllamaModelMetrics.model_validate(defaults | fields)


def cancelled_request() -> OllamaModelMetrics:
    """A stream its client left after a few chunks: no final chunk, so no backend durations."""
    return request(
        cancelled=True,
        status_code=499,
        tokens_generated=3,
        tokens_input=0,
        tokens_per_second=None,
        inter_chunk_gap_mean_ms=None,
        load_duration_ms=0.0,
        prompt_eval_duration_ms=0.0,
        eval_duration_ms=0.0,
        context_utilization_percent=None,
    )


def models_snapshot(*loaded: LoadedModel) -> OllamaModelsSnapshot:
    return OllamaModelsSnapshot(
        host=HOST,
        ollama_url=OLLAMA_URL,
        loaded=list(loaded),
        available=[CatalogModel(name=MODEL), CatalogModel(name="qwen2.5:7b")],
    )


def loaded_model(name: str = MODEL) -> LoadedModel:
    return LoadedModel(
        name=name,
        size_bytes=4_000_000_000,
        size_vram_bytes=3_000_000_000,
        expires_at=utc_now() + timedelta(minutes=5),
        partially_offloaded=True,
    )


def heartbeat(service: ServiceName, counters: dict[str, float]) -> Heartbeat:
    return Heartbeat(
        host=HOST, service=service, version="1", pid=1, started_at=utc_now(), counters=counters
    )


def host_sample() -> OllamaSystemMetrics:
    """A host sample with every figure the collector may send."""
    sample = system_sample()
    gpu = sample.gpus[0].model_copy(update={"power_draw_watts": 180.0, "power_limit_watts": 450.0})
    return sample.model_copy(
        update={
            "memory_used_gb": 30.0,
            "memory_total_gb": 64.0,
            "swap_usage_percent": 1.0,
            "swap_used_gb": 0.1,
            "load_average_1m": 1.0,
            "load_average_5m": 0.8,
            "load_average_15m": 0.5,
            "network_rx_mbps": 8.0,
            "network_tx_mbps": 4.0,
            "disk_read_mbps": 1.0,
            "disk_write_mbps": 2.0,
            "storage_disk_usage_percent": 70.0,
            "gpus": [gpu],
        }
    )


def full_exporter() -> MetricsExporter:
    """Every kind of event the exporter reads, once (a request three times: each outcome)."""
    exporter = MetricsExporter()
    events = (
        request(),
        request(error_occurred=True, tokens_generated=0),
        cancelled_request(),
        host_sample(),
        OllamaHealth(
            host=HOST, ollama_url=OLLAMA_URL, up=True, version="0.12.6", response_time_ms=3.0
        ),
        models_snapshot(loaded_model()),
        ModelLifecycleEvent(
            host=HOST, ollama_url=OLLAMA_URL, model_name=MODEL, change=LifecycleChange.LOADED
        ),
        ModelScore(host=HOST, model_name=MODEL, score=7.5),
        InFlightRequests(
            host=HOST, ollama_url=OLLAMA_URL, by_model={MODEL: 2}, interval_seconds=1.0
        ),
        firing_alert(),
        firing_alert().model_copy(update={"fingerprint": "gone", "state": AlertState.RESOLVED}),
        heartbeat(
            ServiceName.PROBE,
            {
                "spool_events": 2.0,
                "spool_bytes": 900.0,
                "spool_oldest_age_seconds": 4.0,
                "spool_dropped": 1.0,
                "spool_dropped_requests": 0.0,
            },
        ),
        heartbeat(ServiceName.STORAGE, {}),
        NotificationDelivery(
            host=HOST,
            receiver="ops",
            receiver_kind=ReceiverKind.WEBHOOK,
            fingerprint="fp",
            alert_type="slow_response",
            alert_state=AlertState.FIRING,
            attempt=1,
            outcome=DeliveryOutcome.DELIVERED,
            latency_ms=3.0,
        ),
    )
    for event in events:
        exporter.observe(event)
    return exporter


def full_exposition() -> str:
    return full_exporter().render(sse_clients=1, sse_dropped=2).decode()
