"""Finding Ollama's processes by name and command line, cheaply (cached PIDs)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psutil
import pytest

from ollamon_collector.ollama_processes import (
    RUNNER,
    SERVER,
    OllamaProcessTracker,
    might_be_ollama,
    ollama_role,
)
from tests.services.collector.conftest import SpawnNamed


@pytest.mark.parametrize(
    ("name", "cmdline", "role"),
    [
        ("ollama", ["/usr/local/bin/ollama", "serve"], SERVER),
        ("ollama", ["/usr/bin/ollama", "runner", "--model", "/m/blob", "--port", "1"], RUNNER),
        ("ollama_llama_se", ["/tmp/ollama_llama_server", "--model", "x"], RUNNER),
        ("ollama_llama_server", [], RUNNER),
        ("ollama.exe", ["C:\\ollama.exe", "serve"], SERVER),
        ("ollama", ["ollama", "run", "llama3.2"], None),
        ("ollama", ["ollama", "pull", "llama3.2"], None),
        ("python3", ["python3", "serve"], None),
        ("bash", ["bash", "-c", "echo ollama serve"], None),
    ],
)
def test_processes_are_classified_by_name_and_command_line(
    name: str, cmdline: list[str], role: str | None
) -> None:
    assert ollama_role(name, cmdline) == role


def test_only_names_starting_with_ollama_get_their_command_line_read() -> None:
    assert might_be_ollama("ollama")
    assert might_be_ollama("Ollama")
    assert might_be_ollama("ollama_llama_se")
    assert not might_be_ollama("python3")


def counting(scans: list[int]) -> Callable[[list[str]], Any]:
    def process_iter(attrs: list[str]) -> Any:
        scans.append(1)
        return psutil.process_iter(attrs)

    return process_iter


def test_the_tracker_finds_the_server_and_runners_with_their_cpu_and_rss(
    spawn_named: SpawnNamed,
) -> None:
    server = spawn_named("ollama", ["serve"])
    runner = spawn_named("ollama", ["runner", "--model", "blob"])
    old_runner = spawn_named("ollama_llama_server", ["--model", "blob"])
    client = spawn_named("ollama", ["run", "llama3.2"])
    tracker = OllamaProcessTracker()
    samples = {sample.pid: sample for sample in tracker.sample()}
    assert {pid: sample.role for pid, sample in samples.items()} == {
        server.pid: SERVER,
        runner.pid: RUNNER,
        old_runner.pid: RUNNER,
    }
    assert client.pid not in tracker.pids()
    assert all(sample.rss_bytes > 0 for sample in samples.values())
    assert all(sample.cpu_percent >= 0 for sample in samples.values())


def test_the_tracker_scans_all_processes_only_at_its_rescan_interval(
    spawn_named: SpawnNamed,
) -> None:
    scans: list[int] = []
    now = [0.0]
    tracker = OllamaProcessTracker(30.0, process_iter=counting(scans), clock=lambda: now[0])
    tracker.sample()
    for _ in range(10):
        now[0] += 1
        tracker.sample()
    assert len(scans) == 1
    server = spawn_named("ollama", ["serve"])
    now[0] += 25
    tracker.sample()
    assert server.pid in tracker.pids()
    assert len(scans) == 2


def test_a_requested_rescan_finds_a_new_runner_before_the_interval(
    spawn_named: SpawnNamed,
) -> None:
    scans: list[int] = []
    tracker = OllamaProcessTracker(3600.0, process_iter=counting(scans), clock=lambda: 0.0)
    tracker.sample()
    runner = spawn_named("ollama", ["runner"])
    tracker.sample()
    assert runner.pid not in tracker.pids()
    tracker.request_rescan()
    tracker.sample()
    assert runner.pid in tracker.pids()
    assert len(scans) == 2


def test_an_exited_process_is_dropped_and_triggers_a_rescan(
    spawn_named: SpawnNamed,
) -> None:
    scans: list[int] = []
    tracker = OllamaProcessTracker(3600.0, process_iter=counting(scans), clock=lambda: 0.0)
    runner = spawn_named("ollama", ["runner"])
    tracker.sample()
    assert runner.pid in tracker.pids()
    runner.kill()
    runner.wait(timeout=10)
    assert all(sample.pid != runner.pid for sample in tracker.sample())
    assert runner.pid not in tracker.pids()
    tracker.sample()
    assert len(scans) == 2
