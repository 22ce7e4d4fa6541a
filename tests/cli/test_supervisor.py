"""The supervisor with real child processes."""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

import pytest

from ollamon_cli.supervisor import ServiceSpec, StackFailedError, Supervisor


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
