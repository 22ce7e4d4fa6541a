"""The collector's own cost next to Glances measuring the same machine at the same interval.

Both run at the same time, as separate processes, at a 1 s interval, for 60 s (15 s with
--quick) after a 5 s warm-up that leaves start-up (imports, NVML init) out. CPU is the
change in the process's user+system time over the window, as a percent of one core; RSS
is the largest seen while polling once a second. The collector publishes to a real
nats-server (its samples are counted, to show it really sampled at 1 s); Glances runs
headless (`--stdout cpu,mem,load -t 1` to /dev/null), which still updates all its
enabled plugins every refresh.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Any

import psutil

from bench.harness import BenchContext, BenchResult
from ollamon_cli.nats_server import NatsServer
from ollamon_core import subjects
from ollamon_core.bus import Bus
from ollamon_core.events import ServiceName

NAME = "collector_cost"
INTERVAL_SECONDS = 1.0
WARM_UP_SECONDS = 5.0
TARGET_CPU_PERCENT = 0.5
TARGET_GLANCES_FRACTION = 0.2
TARGET_RSS_MB = 100.0
BYTES_PER_MB = 1024**2


@dataclass
class Measured:
    """A process's CPU time at the start of the window and its largest RSS."""

    process: psutil.Process
    cpu_seconds_at_start: float = 0.0
    max_rss_bytes: int = 0
    samples: list[float] = field(default_factory=list)

    def cpu_seconds(self) -> float:
        times = self.process.cpu_times()
        return float(times.user + times.system)

    def poll_rss(self) -> None:
        self.max_rss_bytes = max(self.max_rss_bytes, self.process.memory_info().rss)


def spawn(command: list[str], environment: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        command, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def glances_command() -> list[str]:
    return [sys.executable, "-m", "glances", "--stdout", "cpu,mem,load", "-t", "1"]


async def measure(
    processes: dict[str, Measured], duration_seconds: float
) -> tuple[float, dict[str, float]]:
    """CPU percent of one core per process over the window (RSS polled each second)."""
    for measured in processes.values():
        measured.cpu_seconds_at_start = measured.cpu_seconds()
    started = time.monotonic()
    while time.monotonic() - started < duration_seconds:
        await asyncio.sleep(1.0)
        for measured in processes.values():
            measured.poll_rss()
    wall_seconds = time.monotonic() - started
    return wall_seconds, {
        name: 100.0 * (measured.cpu_seconds() - measured.cpu_seconds_at_start) / wall_seconds
        for name, measured in processes.items()
    }


async def run(ctx: BenchContext) -> list[BenchResult]:
    duration_seconds = 15.0 if ctx.quick else 60.0
    with NatsServer(ctx.work_dir / "nats") as server:
        environment = os.environ | {
            "OLLAMON_NATS_URL": server.url,
            "OLLAMA_MONITORING_INTERVAL": str(INTERVAL_SECONDS),
            "OLLAMA_PERFORMANCE_STORAGE_PATH": str(ctx.work_dir / "data"),
            "OLLAMON_LOG_LEVEL": "WARNING",
        }
        observer = await Bus.connect(server.url, ServiceName.GATEWAY)
        received: list[float] = []

        async def count(_event: Any, _msg: Any) -> None:
            received.append(time.monotonic())

        await observer.subscribe(subjects.SYSTEM, count)
        children = {
            "collector": spawn([sys.executable, "-m", "ollamon_collector"], environment),
            "glances": spawn(glances_command(), environment),
        }
        try:
            await asyncio.sleep(WARM_UP_SECONDS)
            for name, child in children.items():
                if child.poll() is not None:
                    raise RuntimeError(f"{name} exited early with {child.returncode}")
            measured = {
                name: Measured(psutil.Process(child.pid)) for name, child in children.items()
            }
            window_start = time.monotonic()
            wall_seconds, cpu_percent = await measure(measured, duration_seconds)
            samples_in_window = sum(1 for at in received if at >= window_start)
        finally:
            for child in children.values():
                child.terminate()
            for child in children.values():
                try:
                    await asyncio.to_thread(child.wait, 10)
                except subprocess.TimeoutExpired:
                    child.kill()
            await observer.close()

    ours_cpu, glances_cpu = cpu_percent["collector"], cpu_percent["glances"]
    cpu_met = ours_cpu <= TARGET_CPU_PERCENT and ours_cpu <= glances_cpu * TARGET_GLANCES_FRACTION
    ours_rss_mb = measured["collector"].max_rss_bytes / BYTES_PER_MB
    glances_rss_mb = measured["glances"].max_rss_bytes / BYTES_PER_MB
    notes: dict[str, object] = {
        "window_seconds": round(wall_seconds, 1),
        "interval_seconds": INTERVAL_SECONDS,
        "collector_samples_in_window": samples_in_window,
        "run": "collector and Glances at the same time",
        "glances_command": " ".join(glances_command()[1:]),
        "cpu_count": psutil.cpu_count(),
    }
    return [
        BenchResult(
            scenario=NAME,
            metric="cpu % of one core (vs Glances)",
            ours=ours_cpu,
            unit="%",
            reference=glances_cpu,
            reference_label="Glances, same interval, same run",
            target=f"<= {TARGET_CPU_PERCENT} % and <= 1/5 of Glances",
            met=cpu_met,
            notes=notes,
        ),
        BenchResult(
            scenario=NAME,
            metric="max RSS MB (vs Glances)",
            ours=ours_rss_mb,
            unit="MB",
            reference=glances_rss_mb,
            reference_label="Glances, same run",
            target=f"<= {TARGET_RSS_MB:g} MB",
            met=ours_rss_mb <= TARGET_RSS_MB,
            notes=notes,
        ),
    ]
