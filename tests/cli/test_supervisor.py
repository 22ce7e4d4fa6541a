"""The supervisor with real child processes."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from ollamon_cli.preflight import ServedPort
from ollamon_cli.supervisor import Dependency, ServiceSpec, StackFailedError, Supervisor


def sleeper(name: str) -> ServiceSpec:
    return ServiceSpec(name, [sys.executable, "-c", "import time; time.sleep(60)"])


def crasher(name: str) -> ServiceSpec:
    return ServiceSpec(name, [sys.executable, "-c", "raise SystemExit(3)"])


def crash_once(name: str, marker: Path) -> ServiceSpec:
    code = (
        "import pathlib, sys, time\n"
        f"marker = pathlib.Path({str(marker)!r})\n"
        "if not marker.exists():\n"
        "    marker.write_text('crashed')\n"
        "    sys.exit(7)\n"
        "time.sleep(60)\n"
    )
    return ServiceSpec(name, [sys.executable, "-c", code])


def test_a_crashed_service_is_reported_by_name_and_restarted(tmp_path: Path) -> None:
    messages: list[str] = []
    supervisor = Supervisor(
        [sleeper("a"), crash_once("b", tmp_path / "marker")], report=messages.append
    )
    supervisor.start()
    watcher = threading.Thread(target=supervisor.watch, kwargs={"poll_seconds": 0.05})
    watcher.start()
    try:
        deadline = time.monotonic() + 10
        while not messages and time.monotonic() < deadline:
            time.sleep(0.05)
        assert messages and "service b exited with code 7; restarting" in messages[0]
        time.sleep(0.3)
        assert supervisor.running["b"].process.poll() is None
    finally:
        supervisor.request_stop()
        watcher.join(5)
        supervisor.stop()
    assert all(r.process.poll() is not None for r in supervisor.running.values())


def test_a_service_that_keeps_crashing_stops_the_stack_with_a_clear_message() -> None:
    messages: list[str] = []
    supervisor = Supervisor([sleeper("a"), crasher("b")], max_restarts=2, report=messages.append)
    supervisor.start()
    try:
        with pytest.raises(StackFailedError, match="service b exited with code 3"):
            supervisor.watch(poll_seconds=0.05)
    finally:
        supervisor.stop()
    assert len([m for m in messages if "restarting" in m]) == 2
    assert "stopping the stack" in messages[-1]
    assert supervisor.running["a"].process.poll() is not None


def test_stop_terminates_every_service() -> None:
    supervisor = Supervisor([sleeper("a"), sleeper("b")], report=lambda _: None)
    supervisor.start()
    supervisor.stop(timeout_seconds=5)
    codes = [r.process.returncode for r in supervisor.running.values()]
    assert all(code is not None for code in codes)


class SleeperDependency:
    """A process the services depend on, run by its own object (as NatsServer is)."""

    def __init__(self, events: list[str]) -> None:
        self.events = events
        self.process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])

    def exit_code(self) -> int | None:
        return self.process.poll()

    def restart(self) -> None:
        self.process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
        self.events.append("restarted")  # only once the new process is the one polled

    def stop(self) -> None:
        self.events.append("dependency stopped")
        self.process.terminate()
        self.process.wait(5)


def test_a_dead_dependency_is_restarted_and_stopped_after_every_service() -> None:
    events: list[str] = []
    nats = SleeperDependency(events)
    supervisor = Supervisor(
        [sleeper("a"), sleeper("b")],
        report=events.append,
        dependencies=[Dependency("nats-server", nats.exit_code, nats.restart, nats.stop)],
    )
    supervisor.start()
    watcher = threading.Thread(target=supervisor.watch, kwargs={"poll_seconds": 0.05})
    watcher.start()
    try:
        nats.process.kill()
        deadline = time.monotonic() + 10
        while "restarted" not in events and time.monotonic() < deadline:
            time.sleep(0.05)
        assert "service nats-server exited with code -9; restarting (1/5 in the last minute)" in (
            events
        )
        assert nats.process.poll() is None
    finally:
        supervisor.request_stop()
        watcher.join(5)
        supervisor.stop()
    services = [r.process for r in supervisor.running.values()]
    assert all(process.returncode is not None for process in services)
    assert events[-3:] == [
        "ollamon: services stopped",
        "dependency stopped",
        "ollamon: nats-server stopped",
    ]


def test_a_service_whose_port_another_program_holds_stops_the_stack_without_restarts() -> None:
    messages: list[str] = []
    with socket.socket() as other_program:
        other_program.bind(("127.0.0.1", 0))
        other_program.listen()
        port = other_program.getsockname()[1]
        gateway = ServiceSpec(
            "gateway",
            [sys.executable, "-c", "raise SystemExit(1)"],  # as uvicorn after a bind error
            ports=[ServedPort("gateway", "127.0.0.1", port, "OLLAMON_GATEWAY_PORT")],
        )
        supervisor = Supervisor([sleeper("a"), gateway], report=messages.append)
        supervisor.start()
        try:
            with pytest.raises(StackFailedError):
                supervisor.watch(poll_seconds=0.05)
        finally:
            supervisor.stop()
    assert messages == [
        f"ollamon: 127.0.0.1:{port} (gateway) is already in use by another program; stop it or "
        "set OLLAMON_GATEWAY_PORT to a free port (service gateway exited with code 1)"
    ]
