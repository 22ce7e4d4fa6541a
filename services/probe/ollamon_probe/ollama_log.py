"""Read Ollama's own server log: request lines and runner lines (pure, no I/O).

Ollama writes two kinds of lines to its server log (`~/.ollama/logs/server.log` on macOS,
the journald unit `ollama` under systemd, the container's output under Docker):

- gin's access log, one line per HTTP request when its reply ended, in the server's local
  time to the second, the latency as a Go duration, colours only on a terminal:
  `[GIN] 2025/02/04 - 16:56:25 | 200 |     19.7884ms |       127.0.0.1 | POST     "/api/show"`
  A request gin recorded errors for is followed by lines `Error #01: ...`.
- Go's slog lines: `time=2025-03-07T05:36:39.884Z level=ERROR source=server.go:421
  msg="llama runner terminated" error="exit status 2"`, among the runner's own output
  (llama.cpp's `ggml_...: ... cudaMalloc failed: out of memory`, a Go `panic:` with its
  goroutine stack over many lines).

Lines may carry a prefix the log's carrier added (journald's `Feb 21 01:41:16 host
ollama[402476]: `, Docker Compose's `ollama  | `, a timestamp); it is skipped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_GIN = re.compile(
    r"\[GIN\]\s+(?P<date>\d{4}/\d{2}/\d{2} - \d{2}:\d{2}:\d{2})\s*\|\s*(?P<status>\d{3})\s*\|"
    r"\s*(?P<latency>[0-9.]+[a-zµμ]+(?:[0-9.]+[a-zµμ]+)*)\s*\|\s*(?P<client>[^|]*?)\s*\|"
    r"\s*(?P<method>[A-Z]+)\s+\"(?P<path>[^\"]*)\""
)
_SLOG = re.compile(r"time=(?P<time>\S+) level=(?P<level>[A-Z]+) source=(?P<source>\S+) msg=")
_DURATION_PART = re.compile(r"([0-9.]+)(ns|us|µs|μs|ms|s|m|h)")
_DURATION_MS = {"ns": 1e-6, "us": 1e-3, "µs": 1e-3, "μs": 1e-3, "ms": 1.0, "s": 1e3}
_DURATION_MS |= {"m": 60e3, "h": 3600e3}
_MSG = re.compile(r'msg=(?:"(?P<quoted>(?:[^"\\]|\\.)*)"|(?P<bare>\S+))')
_ATTRIBUTE = '{name}=(?:"(?P<quoted>(?:[^"\\\\]|\\\\.)*)"|(?P<bare>\\S+))'
_STARTED = re.compile(r"llama runner started in (?P<seconds>[0-9.]+) seconds")
_BLOB = re.compile(r"sha256-(?P<hex>[0-9a-f]{12})[0-9a-f]*")
MAX_DETAIL_CHARS = 500


def go_duration_ms(text: str) -> float | None:
    """A Go `time.Duration` string (`1.234567s`, `19.7884ms`, `1m2.5s`, `0s`) in ms."""
    parts = _DURATION_PART.findall(text)
    if not parts or "".join(number + unit for number, unit in parts) != text:
        return None
    return sum(float(number) * _DURATION_MS[unit] for number, unit in parts)


@dataclass(frozen=True)
class LogRequest:
    """One request line of gin's access log. `ended_at` is naive: the server's local time,
    to the second, when the reply ended."""

    ended_at: datetime
    status_code: int
    latency_ms: float
    client_address: str
    method: str
    path: str
    errors: tuple[str, ...] = ()


class RunnerChange(StrEnum):
    """What a runner line says happened to a model runner."""

    LOADING = "loading"  # the scheduler starts a runner for a model ("starting llama server")
    STARTED = "started"  # a model finished loading ("llama runner started in 1.2 seconds")
    STOPPED = "stopped"  # a runner was stopped (unload, eviction, expiry)
    OUT_OF_MEMORY = "out_of_memory"
    CRASHED = "crashed"  # the runner process ended on its own, or failed to load


@dataclass(frozen=True)
class RunnerLine:
    """A runner or scheduler event of the log, with the log's words (`detail`)."""

    change: RunnerChange
    detail: str
    load_seconds: float | None = None
    lines: list[str] = field(default_factory=list, compare=False)
    model: str | None = None  # the model's blob as the line names it: `sha256-` + 12 hex


def model_blob(line: str) -> str | None:
    """The model blob a line names (`--model .../blobs/sha256-...`, `model=...`), short."""
    match = _BLOB.search(line)
    return f"sha256-{match['hex']}" if match else None


LogRecord = LogRequest | RunnerLine


def strip_carrier(line: str) -> str:
    """The line without colours and without what journald/Docker put before Ollama's text."""
    line = _ANSI.sub("", line).rstrip("\r\n")
    for marker in ("[GIN] ", "time="):
        at = line.find(marker)
        if at > 0:
            return line[at:]
    return line


def parse_request(line: str) -> LogRequest | None:
    """A gin access-log line, or None."""
    match = _GIN.search(line)
    if match is None:
        return None
    latency = go_duration_ms(match["latency"])
    if latency is None:
        return None
    try:
        ended = datetime.strptime(match["date"], "%Y/%m/%d - %H:%M:%S")  # noqa: DTZ007 (local)
    except ValueError:
        return None
    return LogRequest(
        ended_at=ended,
        status_code=int(match["status"]),
        latency_ms=latency,
        client_address=match["client"].strip()[:64],
        method=match["method"],
        path=match["path"].split("?", 1)[0],
    )


def _attribute(line: str, name: str) -> str | None:
    match = re.search(_ATTRIBUTE.format(name=re.escape(name)), line)
    if match is None:
        return None
    return match["quoted"] if match["quoted"] is not None else match["bare"]


def _unquote(text: str) -> str:
    return text.replace('\\"', '"').replace("\\\\", "\\")


def parse_runner(line: str) -> RunnerLine | None:
    """A runner or scheduler line that changes a runner's state, or None for other lines."""
    lowered = line.lower()
    blob = model_blob(line)
    if "out of memory" in lowered or "cudamalloc failed" in lowered:
        return RunnerLine(RunnerChange.OUT_OF_MEMORY, line[:MAX_DETAIL_CHARS], model=blob)
    if _SLOG.search(line) is None:
        if line.startswith("panic: "):
            return RunnerLine(RunnerChange.CRASHED, line[:MAX_DETAIL_CHARS], model=blob)
        return None
    message = _attribute(line, "msg") or ""
    message = _unquote(message)
    error = _attribute(line, "error")
    detail = f"{message}: {_unquote(error)}" if error else message
    detail = detail[:MAX_DETAIL_CHARS]
    started = _STARTED.search(message)
    if started is not None:
        return RunnerLine(RunnerChange.STARTED, detail, float(started["seconds"]))
    if message == "starting llama server":
        return RunnerLine(RunnerChange.LOADING, message, model=blob)
    if message in ("llama runner terminated", "error loading llama server") or (
        "runner process has terminated" in message or "runner process no longer running" in message
    ):
        return RunnerLine(RunnerChange.CRASHED, detail)
    if message.startswith(("stopping llama server", "runner expired", "evicting model")) or (
        "unloading" in message.split(" ", 1)[0]
    ):
        return RunnerLine(RunnerChange.STOPPED, detail)
    return None


class LogReader:
    """Turn the log's lines into records, folding the lines that continue one record.

    A gin line's `Error #NN:` lines join its request; a Go panic's stack (the lines after
    `panic:` up to the next line Ollama itself wrote) joins its crash. A record is handed
    out when the next record starts (or on `flush`), so its continuation is complete.
    """

    MAX_CONTINUATION_LINES = 200

    def __init__(self) -> None:
        self._pending: LogRecord | None = None
        self._continuation: list[str] = []

    def feed(self, raw_line: str) -> list[LogRecord]:
        """Take one line; return the records it completed."""
        line = strip_carrier(raw_line)
        if not line.strip():
            return []
        request = parse_request(line)
        runner = None if request is not None else parse_runner(line)
        if request is None and runner is None:
            if self._pending is not None and self._is_continuation(line):
                if len(self._continuation) < self.MAX_CONTINUATION_LINES:
                    self._continuation.append(line)
                return []
            return self.flush()
        done = self.flush()
        self._pending = request if request is not None else runner
        return done

    def _is_continuation(self, line: str) -> bool:
        if isinstance(self._pending, LogRequest):
            return line.startswith("Error #")
        # A panic's stack: anything but a line Ollama's own logger wrote.
        return (
            isinstance(self._pending, RunnerLine)
            and self._pending.change is RunnerChange.CRASHED
            and self._pending.detail.startswith("panic: ")
            and _SLOG.search(line) is None
        )

    def end_of_batch(self) -> list[LogRecord]:
        """Hand out a request line at the end of a read: gin writes a request's line and
        its `Error #` lines in one write, so they came together; a panic's stack may not
        have (it waits for the next line or for a quiet read, `flush`)."""
        return self.flush() if isinstance(self._pending, LogRequest) else []

    def flush(self) -> list[LogRecord]:
        """Hand out the record still waiting for continuation lines."""
        pending, continuation = self._pending, self._continuation
        self._pending, self._continuation = None, []
        if pending is None:
            return []
        if isinstance(pending, LogRequest) and continuation:
            errors = tuple(line.split(":", 1)[-1].strip() for line in continuation)
            pending = LogRequest(**{**pending.__dict__, "errors": errors})
        elif isinstance(pending, RunnerLine) and continuation:
            pending = RunnerLine(
                pending.change, pending.detail, pending.load_seconds, continuation, pending.model
            )
        return [pending]
