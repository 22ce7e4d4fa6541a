"""`python -m ollamon_collector` as a real process: samples, control, clean SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from ollamon_collector.gpu_detection import GpuDetectionKind
from ollamon_core import subjects
from ollamon_core.events import (
    Heartbeat,
    MonitoringAction,
    MonitoringControl,
    OllamaSystemMetrics,
    ServiceName,
)
from tests.conftest import BusFactory
from tests.services.collector.conftest import samples_taken_before_the_pause
from tests.support.waiting import wait_for

HOST = "collector-subprocess-host"


async def test_the_collector_process_samples_obeys_stop_and_exits_cleanly_on_sigterm(
    bus_factory: BusFactory, clean_nats_url: str, tmp_path: Path
) -> None:
    observer = await bus_factory(ServiceName.GATEWAY)
    samples: list[OllamaSystemMetrics] = []
    heartbeats: list[Heartbeat] = []

    async def on_sample(event: OllamaSystemMetrics, _msg: Any) -> None:
        samples.append(event)

    async def on_heartbeat(event: Heartbeat, _msg: Any) -> None:
        heartbeats.append(event)

    await observer.subscribe(subjects.SYSTEM, on_sample)
    await observer.subscribe(subjects.heartbeat_subject(ServiceName.COLLECTOR), on_heartbeat)
    environment = os.environ | {
        "OLLAMON_NATS_URL": clean_nats_url,
        "OLLAMON_HOST_LABEL": HOST,
        "OLLAMA_MONITORING_INTERVAL": "0.2",
        "OLLAMON_HEARTBEAT_INTERVAL": "0.2",
        "OLLAMA_PERFORMANCE_STORAGE_PATH": str(tmp_path / "data"),
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "ollamon_collector",
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        await wait_for(lambda: len(samples) >= 3, timeout=20, message="three samples")
        assert {sample.host for sample in samples} == {HOST}
        assert samples[-1].interval_seconds == 0.2
        assert samples[-1].gpu_detection in {kind.value for kind in GpuDetectionKind}
        assert samples[-1].gpu_detection_reason

        await observer.publish(MonitoringControl(action=MonitoringAction.STOP))
        await wait_for(
            lambda: heartbeats and heartbeats[-1].state == "paused", timeout=5, message="paused"
        )
        await samples_taken_before_the_pause(samples, heartbeats)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            output, _ = await asyncio.wait_for(process.communicate(), 15)
        except TimeoutError:
            process.kill()
            output, _ = await asyncio.wait_for(process.communicate(), 15)
    assert process.returncode == 0, output.decode(errors="replace")
    assert b"Traceback" not in output
    assert b"GPU detection" in output
