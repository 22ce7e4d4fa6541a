"""The wire rule (`ollamon_core.bus.wire`): high-volume events travel without their defaults."""

from __future__ import annotations

import json

from nats.aio.msg import Msg

from ollamon_core import subjects
from ollamon_core.bus import encode
from ollamon_core.events import (
    AlertState,
    OllamaModelMetrics,
    OllamaPerformanceAlert,
    OllamaSystemMetrics,
    ServiceName,
    Severity,
)
from ollamon_core.events.base import default_host_label
from ollamon_core.events.system import GpuProcessSample, GpuSample
from tests.conftest import BusFactory
from tests.support.waiting import collect, wait_for


def _request() -> OllamaModelMetrics:
    # Most fields at their default; a few off it, one of them set to a falsy value.
    return OllamaModelMetrics(
        model_name="llama3.2:1b",
        response_time_ms=12.5,
        streamed=True,
        tokens_generated=30,
        temperature=0.0,
        ollama_url="http://ollama:11434",
    )


async def test_a_request_event_crosses_the_bus_whole_while_a_raw_reader_sees_it_compact(
    bus_factory: BusFactory,
) -> None:
    bus = await bus_factory(ServiceName.ALERTING)
    parsed: list[object] = []
    raw: list[Msg] = []

    async def keep_raw(msg: Msg) -> None:
        raw.append(msg)

    await bus.subscribe(subjects.REQUESTS_ALL, lambda event, msg: collect(parsed, event))
    await bus.nc.subscribe(subjects.REQUESTS_ALL, cb=keep_raw)  # a third party's client
    sent = _request()
    await bus.publish_persistent(sent)
    await wait_for(lambda: parsed and raw)

    assert parsed == [sent]  # the model fills every default in again
    body = json.loads(raw[0].data)
    assert set(body) == {
        "event_id",
        "timestamp",
        "host",
        "model_name",
        "response_time_ms",
        "streamed",
        "tokens_generated",
        "temperature",
        "ollama_url",
    }
    assert body["temperature"] == 0.0  # off its default (None), though falsy
    assert OllamaModelMetrics.model_validate(body) == sent  # what such a reader must do
    assert len(raw[0].data) < len(sent.model_dump_json()) / 2


def test_fields_with_a_default_factory_are_always_sent_even_when_equal_to_it() -> None:
    event = OllamaModelMetrics(model_name="m", response_time_ms=1.0)
    assert event.host == default_host_label()
    body = json.loads(encode(event))
    assert (body["host"], body["event_id"]) == (event.host, event.event_id)
    assert "timestamp" in body


def test_a_system_sample_leaves_out_nested_defaults_and_parses_back_equal() -> None:
    sample = OllamaSystemMetrics(
        cpu_usage_percent=5.0,
        memory_usage_percent=40.0,
        memory_available_gb=8.0,
        disk_usage_percent=30.0,
        cpu_per_core_percent=[4.0, 6.0],
        gpus=[GpuSample(index=0, name="gpu", processes=[GpuProcessSample(pid=42)])],
    )
    data = encode(sample)
    body = json.loads(data)
    assert body["gpus"] == [{"index": 0, "name": "gpu", "processes": [{"pid": 42}]}]
    assert "gpu_detection" not in body
    assert "kind" not in body  # the subject names the kind
    assert OllamaSystemMetrics.model_validate_json(data) == sample


def test_alerts_travel_whole() -> None:
    alert = OllamaPerformanceAlert(
        alert_type="slow_response",
        severity=Severity.HIGH,
        state=AlertState.FIRING,
        message="slow",
    )
    assert json.loads(encode(alert)) == json.loads(alert.model_dump_json())
