"""Finding Ollama's server and runner processes and sampling their CPU and memory.

Scanning every process's command line is the expensive part (about 5-8 ms for 80
processes here), so the PIDs found are cached: each sample reads only the cached
processes (`/proc/<pid>/stat` and `statm`), and the full scan runs every
`rescan_interval_seconds`, when a cached process has exited, or when asked (the service
asks when the probe reports a change in the loaded models, which is when runners start
and stop). The scan reads command lines only of processes whose name starts with
`ollama`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

import psutil

from ollamon_core.events import OllamaProcessSample

log = logging.getLogger(__name__)

SERVER = "server"
RUNNER = "runner"
RUNNER_EXECUTABLE = "ollama_llama_server"  # Ollama before 0.4 ran models in this binary
OLLAMA_EXECUTABLES = frozenset({"ollama", "ollama.exe"})

ProcessIter = Callable[[list[str]], Iterable[Any]]


def might_be_ollama(name: str) -> bool:
    """True when a process name is worth reading the command line of."""
    return name.lower().startswith("ollama")


def ollama_role(name: str, cmdline: Sequence[str]) -> str | None:
    """Classify a process as Ollama's `server`, a `runner`, or neither (None).

    `ollama serve` is the server; `ollama runner ...` (Ollama 0.4 and later) and
    `ollama_llama_server ...` (earlier) are runners. Other `ollama` commands (`ollama run`,
    `ollama pull`) are clients and are not counted.
    """
    executables = {name.lower()}
    if cmdline:
        executables.add(PurePath(cmdline[0]).name.lower())
    if any(executable.startswith(RUNNER_EXECUTABLE) for executable in executables):
        return RUNNER
    if executables & OLLAMA_EXECUTABLES:
        arguments = cmdline[1:]
        if "runner" in arguments:
            return RUNNER
        if "serve" in arguments:
            return SERVER
    return None


@dataclass
class _Tracked:
    process: psutil.Process
    role: str


class OllamaProcessTracker:
    """Keeps the Ollama processes of this host and samples them.

    Args:
        rescan_interval_seconds: the longest time between two full scans.
        process_iter: `psutil.process_iter` (a test may pass its own).
        clock: a monotonic clock.
    """

    def __init__(
        self,
        rescan_interval_seconds: float = 30.0,
        process_iter: ProcessIter = psutil.process_iter,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._rescan_interval_seconds = rescan_interval_seconds
        self._process_iter = process_iter
        self._clock = clock
        self._tracked: dict[int, _Tracked] = {}
        self._scanned_at: float | None = None
        self._rescan_requested = threading.Event()
        self.scan_count = 0

    def request_rescan(self) -> None:
        """Scan all processes at the next sample (safe to call from any thread)."""
        self._rescan_requested.set()

    def pids(self) -> frozenset[int]:
        """PIDs of the Ollama processes found by the last scan."""
        return frozenset(self._tracked)

    def sample(self) -> list[OllamaProcessSample]:
        """CPU percent (since the previous sample) and RSS of each Ollama process."""
        if self._rescan_due():
            self.rescan()
        samples: list[OllamaProcessSample] = []
        for pid, tracked in list(self._tracked.items()):
            try:
                with tracked.process.oneshot():
                    cpu_percent = tracked.process.cpu_percent(None)
                    rss_bytes = tracked.process.memory_info().rss
            except psutil.NoSuchProcess:  # includes zombies: the process is gone
                del self._tracked[pid]
                self._rescan_requested.set()
                continue
            except psutil.AccessDenied:
                cpu_percent, rss_bytes = 0.0, 0
            samples.append(
                OllamaProcessSample(
                    pid=pid, role=tracked.role, cpu_percent=cpu_percent, rss_bytes=rss_bytes
                )
            )
        return samples

    def rescan(self) -> None:
        """Scan every process for Ollama's, keeping the state of those already known."""
        found: dict[int, _Tracked] = {}
        for process in self._process_iter(["name"]):
            name = process.info.get("name") or ""
            if not might_be_ollama(name):
                continue
            try:
                role = ollama_role(name, process.cmdline())
            except psutil.Error:
                continue
            if role is None:
                continue
            known = self._tracked.get(process.pid)
            if known is not None and known.process == process:
                found[process.pid] = known
                continue
            try:
                process.cpu_percent(None)  # starts its CPU clock so the next sample is real
            except psutil.Error:
                continue
            found[process.pid] = _Tracked(process=process, role=role)
        if set(found) != set(self._tracked):
            log.info("Ollama processes: %s", {pid: item.role for pid, item in found.items()})
        self._tracked = found
        self._scanned_at = self._clock()
        self._rescan_requested.clear()
        self.scan_count += 1

    def _rescan_due(self) -> bool:
        if self._scanned_at is None or self._rescan_requested.is_set():
            return True
        return self._clock() - self._scanned_at >= self._rescan_interval_seconds
