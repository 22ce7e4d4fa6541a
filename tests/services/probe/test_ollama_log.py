"""Ollama's server log is read as Ollama writes it: gin's request lines, slog's runner
lines, the carriers' prefixes and the lines that continue a record."""

from __future__ import annotations

from datetime import datetime

from ollamon_probe.ollama_log import (
    LogReader,
    LogRecord,
    LogRequest,
    RunnerChange,
    RunnerLine,
    go_duration_ms,
    parse_request,
)

# Lines as Ollama's issues quote them (ollama/ollama #8825, #9260, #9562, #14028, #6985).
GIN_SHOW = (
    '[GIN] 2025/02/04 - 16:56:25 | 200 |     19.7884ms |       127.0.0.1 | POST     "/api/show"'
)
GIN_HEAD = '[GIN] 2025/02/04 - 16:56:25 | 200 |            0s |       127.0.0.1 | HEAD     "/"'
GIN_GENERATE_500 = (
    '[GIN] 2025/03/07 - 05:36:40 | 500 |  3.284012871s |      172.17.0.1 | POST     "/api/generate"'
)
STARTED = (
    "time=2026-02-02T12:29:02.735Z level=INFO source=server.go:1339 "
    'msg="llama runner started in 29.96 seconds"'
)
TERMINATED = (
    "time=2025-03-07T05:36:39.884Z level=ERROR source=server.go:421 "
    'msg="llama runner terminated" error="exit status 2"'
)
OOM = (
    "ggml_backend_cuda_buffer_type_alloc_buffer: allocating 3257.82 MiB on device 0: "
    "cudaMalloc failed: out of memory"
)
PANIC = [
    "panic: unable to load model: /root/.ollama/models/blobs/sha256-8934d96d3f08",
    "",
    "goroutine 24 [running]:",
    "github.com/ollama/ollama/runner/llamarunner.(*Server).loadModel(0xc000037d40, ...)",
    "\tgithub.com/ollama/ollama/runner/llamarunner/runner.go:851 +0x375",
]


def read_all(lines: list[str]) -> list[LogRecord]:
    reader = LogReader()
    records = [record for line in lines for record in reader.feed(line)]
    return records + reader.flush()


def test_go_durations_of_every_unit_are_milliseconds() -> None:
    assert go_duration_ms("19.7884ms") == 19.7884
    assert go_duration_ms("1.234567s") == 1234.567
    assert go_duration_ms("0s") == 0.0
    assert go_duration_ms("12.5µs") == 0.0125
    assert go_duration_ms("1m2.5s") == 62500.0
    assert go_duration_ms("fast") is None


def test_a_gin_line_gives_time_status_latency_client_method_and_path() -> None:
    request = parse_request(GIN_GENERATE_500)
    assert request == LogRequest(
        ended_at=datetime(2025, 3, 7, 5, 36, 40),  # noqa: DTZ001 (the server's local time)
        status_code=500,
        latency_ms=3284.012871,
        client_address="172.17.0.1",
        method="POST",
        path="/api/generate",
    )


def test_journald_docker_and_colour_prefixes_are_skipped() -> None:
    coloured = (
        "[GIN] 2025/02/04 - 16:56:25 |\x1b[97;42m 200 \x1b[0m|     19.7884ms |       127.0.0.1 |"
        '\x1b[97;46m POST    \x1b[0m "/api/show"'
    )
    lines = [
        f"Feb 04 16:56:25 box ollama[402476]: {GIN_SHOW}",
        f"ollama  | {GIN_SHOW}",
        coloured,
    ]
    records = read_all(lines)
    assert [
        (r.path, r.status_code, r.latency_ms) for r in records if isinstance(r, LogRequest)
    ] == [("/api/show", 200, 19.7884)] * 3


def test_error_lines_after_a_request_line_join_it() -> None:
    records = read_all([GIN_GENERATE_500, "Error #01: model requires more system memory", GIN_HEAD])
    assert len(records) == 2
    first = records[0]
    assert isinstance(first, LogRequest)
    assert first.errors == ("model requires more system memory",)
    assert isinstance(records[1], LogRequest) and records[1].errors == ()


def test_runner_lines_say_started_crashed_and_out_of_memory() -> None:
    records = read_all([STARTED, OOM, *PANIC, TERMINATED, GIN_HEAD])
    changes = [r.change for r in records if isinstance(r, RunnerLine)]
    assert changes == [
        RunnerChange.STARTED,
        RunnerChange.OUT_OF_MEMORY,
        RunnerChange.CRASHED,
        RunnerChange.CRASHED,
    ]
    started, _, panic, terminated = (r for r in records if isinstance(r, RunnerLine))
    assert started.load_seconds == 29.96
    assert panic.lines[-1].endswith("runner.go:851 +0x375")  # the stack joined the panic
    assert terminated.detail == "llama runner terminated: exit status 2"
    assert isinstance(records[-1], LogRequest)


def test_other_lines_are_no_records() -> None:
    other = [
        'time=2024-06-02T18:43:45.633Z level=INFO source=images.go:729 msg="total blobs: 47"',
        "llama_model_loader: loaded meta data with 39 key-value pairs",
        "[GIN-debug] POST   /api/generate --> github.com/ollama/ollama/server.(*Server)",
    ]
    assert read_all(other) == []
