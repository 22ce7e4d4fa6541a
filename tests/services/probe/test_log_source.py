"""Requests in Ollama's log are matched against the proxy's own events: a proxied one is
counted once (the proxy's event), one the proxy never saw becomes an event with
source="log"; what the probe does not measure (the watcher's polls) is no event at all."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta, timezone

from ollamon_core.events import (
    UNKNOWN_MODEL,
    LifecycleChange,
    ModelLifecycleEvent,
    OllamaModelMetrics,
    RequestSource,
)
from ollamon_probe.log_source import LogSource, ProxiedBook
from ollamon_probe.request_event import Origin
from tests.services.probe.sinks import Keep

ENDED = datetime(2026, 3, 1, 12, 0, 0, 400_000).astimezone()
ORIGIN = Origin("http://127.0.0.1:11434", "test-host")


def gin(ended: datetime, status: int, latency: str, client: str, path: str) -> str:
    stamp = ended.strftime("%Y/%m/%d - %H:%M:%S")
    return f'[GIN] {stamp} | {status} | {latency:>13} | {client:>15} | POST     "{path}"'


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def proxied(ended: datetime, latency_ms: float, path: str = "/api/generate") -> OllamaModelMetrics:
    return OllamaModelMetrics(
        timestamp=ended,
        host="test-host",
        model_name="llama3.2:1b",
        response_time_ms=latency_ms,
        endpoint=path,
    )


def requests(keep: Keep) -> list[OllamaModelMetrics]:
    return [event for event in keep.events if isinstance(event, OllamaModelMetrics)]


def source_with_book() -> tuple[LogSource, Keep, Clock, Counter[str]]:
    keep, clock, counters = Keep(), Clock(ENDED.timestamp()), Counter[str]()
    book = ProxiedBook(keep, clock)
    return LogSource(book, ORIGIN, counters, grace_seconds=1.0, clock=clock), keep, clock, counters


def test_a_request_the_proxy_also_saw_is_counted_once() -> None:
    source, keep, clock, counters = source_with_book()
    source.book.emit(proxied(ENDED, 1234.9))
    source.take([gin(ENDED, 200, "1.234567s", "127.0.0.1", "/api/generate")])
    clock.now += 2
    source.take([])
    assert [e.source for e in keep.events] == [RequestSource.PROXY]  # type: ignore[attr-defined]
    assert counters["log_requests_proxied"] == 1


def test_the_log_line_may_come_before_the_proxys_event() -> None:
    source, keep, clock, _ = source_with_book()
    source.take([gin(ENDED, 200, "1.234567s", "127.0.0.1", "/api/generate")])
    source.book.emit(proxied(ENDED + timedelta(milliseconds=300), 1236.0))
    clock.now += 2
    source.take([])
    assert len(keep.events) == 1


def test_a_request_only_in_the_log_is_an_event_with_source_log_and_what_the_log_gives() -> None:
    source, keep, clock, counters = source_with_book()
    source.book.emit(proxied(ENDED, 1234.9))
    source.take(
        [
            gin(ENDED, 200, "1.234567s", "127.0.0.1", "/api/generate"),  # the proxied one
            gin(ENDED, 200, "812.5ms", "192.168.1.20", "/api/generate"),  # another client
            gin(ENDED, 500, "3.28s", "192.168.1.20", "/api/chat"),
            "Error #01: model requires more system memory",
        ]
    )
    clock.now += 2
    source.take([])
    bypassing = [e for e in requests(keep) if e.source is RequestSource.LOG]
    assert [
        (e.endpoint, e.status_code, e.response_time_ms, e.client_address) for e in bypassing
    ] == [
        ("/api/generate", 200, 812.5, "192.168.1.20"),
        ("/api/chat", 500, 3280.0, "192.168.1.20"),
    ]
    first, second = bypassing
    assert (first.model_name, first.model_unknown, first.error_occurred) == (
        UNKNOWN_MODEL,
        True,
        False,
    )
    assert (second.error_occurred, second.error_message) == (
        True,
        "model requires more system memory",
    )
    assert first.timestamp == ENDED.replace(microsecond=0)
    assert (first.host, first.ollama_url) == ("test-host", "http://127.0.0.1:11434")
    assert counters["log_requests_bypassing"] == 2


def test_a_proxied_request_matches_one_log_line_at_most() -> None:
    source, keep, clock, _ = source_with_book()
    source.book.emit(proxied(ENDED, 100.0))
    line = gin(ENDED, 200, "100ms", "127.0.0.1", "/api/generate")
    source.take([line, line])
    clock.now += 2
    source.take([])
    assert [e.source for e in keep.events] == [RequestSource.PROXY, RequestSource.LOG]  # type: ignore[attr-defined]


def test_a_request_the_client_cancelled_matches_whatever_status_ollama_logged() -> None:
    source, keep, clock, _ = source_with_book()
    cancelled = proxied(ENDED, 900.0).model_copy(update={"status_code": 499, "cancelled": True})
    source.book.emit(cancelled)
    source.take([gin(ENDED, 200, "910ms", "127.0.0.1", "/api/generate")])
    clock.now += 2
    source.take([])
    assert [e.source for e in requests(keep)] == [RequestSource.PROXY]


def test_a_log_in_another_time_zone_matches_with_its_utc_offset() -> None:
    keep, clock, counters = Keep(), Clock(ENDED.timestamp()), Counter[str]()
    book = ProxiedBook(keep, clock)
    # An Ollama logging in UTC+02:30, whatever the probe's own zone.
    source = LogSource(
        book, ORIGIN, counters, grace_seconds=1.0, clock=clock, utc_offset_minutes=150
    )
    book.emit(proxied(ENDED, 100.0))
    elsewhere = ENDED.astimezone(timezone(timedelta(minutes=150)))
    source.take([gin(elsewhere, 200, "100ms", "127.0.0.1", "/api/generate")])
    clock.now += 2
    source.take([])
    assert [e.source for e in requests(keep)] == [RequestSource.PROXY]


def test_different_latency_status_path_or_time_do_not_match() -> None:
    source, keep, clock, _ = source_with_book()
    source.book.emit(proxied(ENDED, 100.0))
    source.take(
        [
            gin(ENDED, 200, "400ms", "127.0.0.1", "/api/generate"),
            gin(ENDED, 400, "100ms", "127.0.0.1", "/api/generate"),
            gin(ENDED, 200, "100ms", "127.0.0.1", "/api/chat"),
            gin(ENDED - timedelta(seconds=5), 200, "100ms", "127.0.0.1", "/api/generate"),
        ]
    )
    clock.now += 2
    source.take([])
    assert sum(e.source is RequestSource.LOG for e in requests(keep)) == 4


def test_requests_the_probe_does_not_measure_are_no_events() -> None:
    source, keep, clock, _ = source_with_book()
    stamp = ENDED.strftime("%Y/%m/%d - %H:%M:%S")
    source.take(
        [
            f'[GIN] {stamp} | 200 |     1.0771ms |       127.0.0.1 | GET      "/api/ps"',
            f'[GIN] {stamp} | 200 |            0s |       127.0.0.1 | HEAD     "/"',
            gin(ENDED, 200, "19.7884ms", "127.0.0.1", "/api/show"),
        ]
    )
    clock.now += 2
    source.take([])
    assert keep.events == []


STARTING = (
    'time=2025-03-07T05:36:38.116Z level=INFO source=server.go:380 msg="starting llama server" '
    'cmd="/usr/bin/ollama runner --model /root/.ollama/models/blobs/'
    "sha256-8934d96d3f08982e95922b2b7a2c626a1fe873d7c3b06e8e56d7bc0a1fef9246 --ctx-size 8192 "
    '--port 33405"'
)
OOM_LINES = [
    "ggml_backend_cuda_buffer_type_alloc_buffer: allocating 3257.82 MiB on device 0: "
    "cudaMalloc failed: out of memory",
    "llama_model_load: error loading model: unable to allocate CUDA0 buffer",
    "panic: unable to load model: /root/.ollama/models/blobs/sha256-8934d96d3f08982e9592",
    "",
    "goroutine 24 [running]:",
    'time=2025-03-07T05:36:39.884Z level=ERROR source=server.go:421 msg="llama runner terminated"'
    ' error="exit status 2"',
    'time=2025-03-07T05:36:40.016Z level=ERROR source=sched.go:456 msg="error loading llama '
    'server" error="llama runner process has terminated: cudaMalloc failed: out of memory"',
]


def lifecycle(keep: Keep) -> list[ModelLifecycleEvent]:
    return [event for event in keep.events if isinstance(event, ModelLifecycleEvent)]


def test_starts_are_counted_and_left_to_the_watchers_lifecycle() -> None:
    source, keep, _, counters = source_with_book()
    source.take(
        [
            STARTING,
            "time=2026-02-02T12:29:02.735Z level=INFO source=server.go:1339 "
            'msg="llama runner started in 29.96 seconds"',
        ]
    )
    source.take([])
    assert (counters["log_runner_loading"], counters["log_runner_started"]) == (1, 1)
    assert keep.events == []


def test_an_out_of_memory_told_in_seven_lines_is_one_lifecycle_event_naming_the_blob() -> None:
    source, keep, clock, counters = source_with_book()
    source.take([STARTING, *OOM_LINES])
    source.take([])
    (event,) = lifecycle(keep)
    assert event.change is LifecycleChange.OUT_OF_MEMORY
    assert event.model_name == "sha256-8934d96d3f08"
    assert event.detail is not None and "cudaMalloc failed: out of memory" in event.detail
    assert (event.host, event.ollama_url) == ("test-host", "http://127.0.0.1:11434")
    assert counters["log_runner_crashed"] >= 2  # still counted
    clock.now += 10  # a later crash is a new event
    source.take(
        [
            "time=2025-03-07T05:40:00.000Z level=ERROR source=server.go:421 "
            'msg="llama runner terminated" error="signal: killed"'
        ]
    )
    source.take([])
    later = lifecycle(keep)[-1]
    assert (later.change, later.detail) == (
        LifecycleChange.CRASHED,
        "llama runner terminated: signal: killed",
    )
    assert later.model_name == "sha256-8934d96d3f08"  # the runner started last
