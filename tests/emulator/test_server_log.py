"""The emulator writes gin's access-log lines as Ollama's server log holds them, and the
probe's reader reads them back field by field."""

from __future__ import annotations

from datetime import datetime

from ollama_emulator.server_log import gin_line, go_duration
from ollamon_probe.ollama_log import parse_request


def test_durations_are_written_as_go_writes_them() -> None:
    assert go_duration(0.0197884) == "19.7884ms"
    assert go_duration(1.234567) == "1.234567s"
    assert go_duration(0.0000125) == "12.5µs"
    assert go_duration(0.0) == "0s"


def test_a_line_is_the_one_ollama_writes_and_reads_back() -> None:
    ended = datetime(2025, 2, 4, 16, 56, 25)  # noqa: DTZ001 (the server's local time)
    line = gin_line(ended, 200, 0.0197884, "127.0.0.1", "POST", "/api/show")
    assert line == (  # as quoted in ollama/ollama#8825
        "[GIN] 2025/02/04 - 16:56:25 | 200 |     19.7884ms |       127.0.0.1 | "
        'POST     "/api/show"\n'
    )
    request = parse_request(line)
    assert request is not None
    assert (request.ended_at, request.latency_ms, request.path) == (ended, 19.7884, "/api/show")
