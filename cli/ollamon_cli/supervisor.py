"""Run a set of service processes: start in order, restart crashes, stop in reverse.

The supervisor is deliberately synchronous: it only watches child processes. Children run
in their own session so a terminal's Ctrl-C reaches the supervisor alone, which then stops
them in order: the services in reverse, then what they depend on (the embedded NATS server,
watched and restarted like a service); on Linux each child also gets SIGTERM if the
supervisor itself dies, so nothing is left half-running.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import subprocess
import sys
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from ollamon_cli.children import ChildProcess
from ollamon_cli.ports import ServedPort, port_taken

RESTART_WINDOW_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 10.0
PR_SET_PDEATHSIG = 1


@dataclass
class ServiceSpec:
    """One process to supervise, and the addresses it listens on (a crash while another
    program holds one is a bind error: the stack stops rather than restart it in a loop)."""

    name: str
    argv: list[str]
    env: Mapping[str, str] = field(default_factory=dict)
    ports: list[ServedPort] = field(default_factory=list)


@dataclass
class _Running:
    spec: ServiceSpec
    process: ChildProcess
    restarts: deque[float] = field(default_factory=deque)


@dataclass
class Dependency:
    """A process the services need (the embedded NATS server), run by its own object: watched
    with the services' crash budget, restarted first, stopped last."""

    name: str
    exit_code: Callable[[], int | None]
    restart: Callable[[], None]
    stop: Callable[[], None]
    restarts: deque[float] = field(default_factory=deque)


class StackFailedError(Exception):
    """A service kept crashing; the stack was stopped."""


def die_with_parent() -> None:  # pragma: no cover - runs in the child
    libc_name = ctypes.util.find_library("c")
    if libc_name and sys.platform.startswith("linux"):
        ctypes.CDLL(libc_name, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


class Supervisor:
    """Starts services, restarts a crashed one up to `max_restarts` a minute, stops all."""

    def __init__(
        self,
        specs: list[ServiceSpec],
        *,
        max_restarts: int = 5,
        report: Callable[[str], None] = print,
        dependencies: list[Dependency] | None = None,
    ) -> None:
        self.specs = specs
        self.dependencies = dependencies or []
        self.max_restarts = max_restarts
        self.report = report
        self.running: dict[str, _Running] = {}
        self._stop_requested = False

    def _spawn(self, spec: ServiceSpec) -> subprocess.Popen[bytes]:
        env = {**os.environ, **spec.env}
        return subprocess.Popen(
            spec.argv,
            env=env,
            start_new_session=True,
            preexec_fn=die_with_parent if sys.platform.startswith("linux") else None,
        )

    def start(self) -> None:
        """Start every service in the order given."""
        for spec in self.specs:
            self.running[spec.name] = _Running(spec, self._spawn(spec))

    def adopt(self, spec: ServiceSpec, process: ChildProcess) -> None:
        """Watch `process`, already running `spec` (the slim supervisor's hand-over)."""
        self.running[spec.name] = _Running(spec, process)

    def request_stop(self, *_: object) -> None:
        """Ask the watch loop to return (signal-handler safe)."""
        self._stop_requested = True

    @property
    def stop_requested(self) -> bool:
        """Whether a stop was asked for."""
        return self._stop_requested

    def watch(
        self, poll_seconds: float = 0.25, wait: Callable[[float], object] = time.sleep
    ) -> None:
        """Block until a stop is requested; restart crashed services or raise StackFailedError.

        Between looks at the children it calls `wait(poll_seconds)`, which may return sooner
        (the slim supervisor's returns when a child ends or a signal comes: `watch.py`).
        """
        while not self._stop_requested:
            for dependency in self.dependencies:
                code = dependency.exit_code()
                if code is not None and not self._stop_requested:
                    self._restart_dependency(dependency, code)
            for name, running in self.running.items():
                code = running.process.poll()
                if code is None or self._stop_requested:
                    continue
                self._restart_or_fail(name, running, code)
            if not self._stop_requested:
                wait(poll_seconds)

    def _count_crash(self, name: str, restarts: deque[float], code: int) -> None:
        """Record a crash within the budget and report it, or raise StackFailedError."""
        now = time.monotonic()
        while restarts and now - restarts[0] > RESTART_WINDOW_SECONDS:
            restarts.popleft()
        if len(restarts) >= self.max_restarts:
            message = (
                f"service {name} exited with code {code} and crashed {len(restarts) + 1} "
                f"times within {RESTART_WINDOW_SECONDS:.0f}s; stopping the stack"
            )
            self.report(message)
            raise StackFailedError(message)
        restarts.append(now)
        self.report(
            f"service {name} exited with code {code}; restarting "
            f"({len(restarts)}/{self.max_restarts} in the last minute)"
        )

    def _restart_or_fail(self, name: str, running: _Running, code: int) -> None:
        for served in running.spec.ports:
            if port_taken(served.host, served.port):
                message = f"{served.taken_line()} (service {name} exited with code {code})"
                self.report(message)
                raise StackFailedError(message)
        self._count_crash(name, running.restarts, code)
        running.process = self._spawn(running.spec)

    def _restart_dependency(self, dependency: Dependency, code: int) -> None:
        self._count_crash(dependency.name, dependency.restarts, code)
        try:
            dependency.restart()
        except Exception as error:  # counted as the next crash on the next poll
            self.report(f"service {dependency.name} did not start again: {error}")

    def stop(self, timeout_seconds: float = STOP_TIMEOUT_SECONDS) -> None:
        """Stop the services, then the dependencies (NATS last)."""
        self.stop_services(timeout_seconds)
        if self.running and self.dependencies:
            self.report("ollamon: services stopped")
        for dependency in reversed(self.dependencies):
            dependency.stop()
            self.report(f"ollamon: {dependency.name} stopped")

    def stop_services(self, timeout_seconds: float = STOP_TIMEOUT_SECONDS) -> None:
        """SIGTERM every service in reverse order, wait, then SIGKILL what is left."""
        for running in reversed(list(self.running.values())):
            if running.process.poll() is None:
                running.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout_seconds
        for name, running in reversed(list(self.running.items())):
            remaining = max(0.1, deadline - time.monotonic())
            try:
                running.process.wait(remaining)
            except subprocess.TimeoutExpired:
                self.report(f"service {name} did not stop in time; killing it")
                running.process.kill()
                running.process.wait()
