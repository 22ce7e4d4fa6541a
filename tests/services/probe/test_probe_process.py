"""`python -m ollamon_probe` runs as its own process against real NATS and the emulator."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from typing import Any

import ollama

from ollamon_cli.nats_server import free_port
from ollamon_core import subjects
from ollamon_core.events import (
    Event,
    HealthCheckReply,
    HealthCheckRequest,
    Heartbeat,
    OllamaHealth,
    OllamaModelMetrics,
    OllamaSystemMetrics,
    ServiceName,
)
from tests.conftest import BusFactory
from tests.services.probe.conftest import Emulated
from tests.support.waiting import wait_for, wait_for_async


async def wait_until_listening(port: int, timeout: float = 15.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"the probe did not listen on {port}") from None
            await asyncio.sleep(0.05)
            continue
        writer.close()
        await writer.wait_closed()
        return


async def test_the_probe_process_proxies_publishes_answers_and_stops_on_sigterm(
    emulated: Emulated, clean_nats_url: str, bus_factory: BusFactory
) -> None:
    listener = await bus_factory(ServiceName.GATEWAY)
    events: list[Event] = []

    async def keep(event: Any, _msg: object) -> None:
        events.append(event)

    for pattern in (subjects.REQUESTS_ALL, subjects.OLLAMA_ALL, subjects.HEARTBEAT_ALL):
        await listener.subscribe(pattern, keep)
    port = free_port()
    env = os.environ | {
        "OLLAMON_NATS_URL": clean_nats_url,
        "OLLAMON_OLLAMA_URL": emulated.url,
        "OLLAMON_PROXY_PORT": str(port),
        "OLLAMON_HOST_LABEL": "process-host",
        "OLLAMA_MONITORING_INTERVAL": "0.2",
        "OLLAMON_HEARTBEAT_INTERVAL": "0.2",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "ollamon_probe", env=env, stderr=asyncio.subprocess.PIPE
    )
    try:
        await wait_until_listening(port)
        reply = await ollama.AsyncClient(host=f"http://127.0.0.1:{port}").generate(
            "llama3.2:1b", "hi"
        )
        await wait_for(lambda: any(isinstance(e, OllamaModelMetrics) for e in events), timeout=10)
        [request] = [e for e in events if isinstance(e, OllamaModelMetrics)]
        assert (request.host, request.model_name, request.tokens_generated) == (
            "process-host",
            "llama3.2:1b",
            reply.eval_count,
        )
        await wait_for(lambda: any(isinstance(e, OllamaHealth) for e in events), timeout=10)
        await wait_for(lambda: any(isinstance(e, Heartbeat) for e in events), timeout=10)
        answer = await listener.request(
            subjects.CONTROL_HEALTH_CHECK, HealthCheckRequest(), timeout=5
        )
        assert isinstance(answer, HealthCheckReply)
        assert [result.up for result in answer.results] == [True]
        # The collector's sample of this host gives the next requests their GPU utilisation.
        client = ollama.AsyncClient(host=f"http://127.0.0.1:{port}")
        sample = OllamaSystemMetrics(
            host="process-host",
            cpu_usage_percent=1.0,
            memory_usage_percent=1.0,
            memory_available_gb=1.0,
            disk_usage_percent=1.0,
            gpu_usage_percent=42.0,
        )

        async def carries_gpu_use() -> bool:
            await listener.publish(sample)
            await client.generate("llama3.2:1b", "hi")
            return any(
                isinstance(e, OllamaModelMetrics) and e.gpu_utilization_percent == 42.0
                for e in events
            )

        await wait_for_async(carries_gpu_use, timeout=10, message="a request with GPU use")
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        stderr = await asyncio.wait_for(process.stderr.read(), 15) if process.stderr else b""
        code = await asyncio.wait_for(process.wait(), 15)
    assert code == 0, stderr.decode()[-2000:]
