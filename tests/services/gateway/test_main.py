"""`python -m ollamon_gateway` as the launcher runs it: serves, beats, stops on SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time

import httpx

from ollamon_cli.nats_server import free_port

STARTUP_TIMEOUT_SECONDS = 20.0
EXIT_TIMEOUT_SECONDS = 15.0


async def test_the_service_serves_reports_its_heartbeat_and_stops_cleanly_with_open_streams(
    clean_nats_url: str,
) -> None:
    port = free_port()
    env = os.environ | {
        "OLLAMON_NATS_URL": clean_nats_url,
        "OLLAMON_GATEWAY_PORT": str(port),
        "OLLAMON_HEARTBEAT_INTERVAL": "0.2",
        "OLLAMON_LOG_LEVEL": "WARNING",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "ollamon_gateway", env=env, stderr=asyncio.subprocess.PIPE
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=base_url, timeout=5) as client:
            deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
            services: list[str] = []
            while "gateway" not in services:
                assert time.monotonic() < deadline, "no gateway heartbeat in the status"
                assert process.returncode is None, "the gateway exited"
                try:
                    body = (await client.get("/api/ai/ollama/performance/status")).json()
                    services = [service["service"] for service in body["services"]]
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
            async with client.stream("GET", "/api/ai/ollama/performance/stream") as stream:
                assert stream.status_code == 200
                process.send_signal(signal.SIGTERM)
                async for _ in stream.aiter_lines():
                    pass  # the gateway ends the stream as it stops
        _, stderr = await asyncio.wait_for(process.communicate(), EXIT_TIMEOUT_SECONDS)
        assert process.returncode == 0, stderr.decode()[-3000:]
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
