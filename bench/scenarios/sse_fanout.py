"""SSE fan-out: many dashboard clients held by one gateway process, one event per second each.

The gateway runs as its own process (`python -m ollamon_gateway`) on a real nats-server; the
clients run in other processes (raw asyncio sockets), so the gateway is what is measured.
Delivery latency is publish time (the event's timestamp) to the moment a client has the
event; the reference is the same figure with a single client, in the same run.
Target: 1,000 clients, p99 <= 250 ms (`--quick`: 100 clients). The gateway's connection
cap (`OLLAMON_GATEWAY_MAX_CONNECTIONS`, 256 by default) is raised to the clients it must
hold plus a margin, as an operator serving that many dashboards would set it.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from datetime import datetime
from pathlib import Path

import httpx

from bench.harness import BenchContext, BenchResult
from ollamon_cli.nats_server import NatsServer, free_port
from ollamon_core.bus import Bus
from ollamon_core.events import OllamaSystemMetrics, ServiceName
from ollamon_core.stats import percentile

NAME = "sse_fanout"
STREAM_PATH = "/api/ai/ollama/performance/stream"
TARGET_CLIENTS = 1000
QUICK_CLIENTS = 100
CLIENTS_PER_PROCESS = 250
CONNECTION_MARGIN = 64  # the bench's own REST calls beside the streams
TARGET_P99_MS = 250.0
BENCH_HOST = "bench-sse"
STARTUP_TIMEOUT_SECONDS = 30.0
REPOSITORY_ROOT = Path(__file__).resolve().parents[2]


# Client side (runs in its own process) ----------------------------------------------------


async def _client(host: str, port: int, events: int, ready: asyncio.Event) -> list[float]:
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(f"GET {STREAM_PATH} HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode())
    await writer.drain()
    latencies_ms: list[float] = []
    buffer = b""
    connected = False
    try:
        while len(latencies_ms) < events:
            chunk = await reader.read(65536)
            if not chunk:
                break
            received_at = time.time()
            buffer += chunk
            *blocks, buffer = buffer.split(b"\n\n")
            for block in blocks:
                if not connected and b": connected" in block:
                    connected = True
                    ready.set()
                if b"event: system" not in block:
                    continue
                data = block.split(b"data: ", 1)[1].split(b"\n", 1)[0]
                event = json.loads(data)
                if event.get("host") != BENCH_HOST:
                    continue
                sent_at = datetime.fromisoformat(event["timestamp"]).timestamp()
                latencies_ms.append((received_at - sent_at) * 1000)
    finally:
        writer.close()
    return latencies_ms


async def _client_process(host: str, port: int, clients: int, events: int) -> None:
    readies = [asyncio.Event() for _ in range(clients)]
    tasks = []
    for ready in readies:
        tasks.append(asyncio.create_task(_client(host, port, events, ready)))
        await asyncio.sleep(0.002)  # a gentle ramp, like dashboards opening
    await asyncio.wait_for(asyncio.gather(*(ready.wait() for ready in readies)), 60)
    print("ready", flush=True)
    results = await asyncio.gather(*tasks, return_exceptions=True)
    latencies = [value for result in results if isinstance(result, list) for value in result]
    errors = [repr(result) for result in results if isinstance(result, BaseException)]
    print(json.dumps({"latencies_ms": latencies, "errors": errors[:5]}), flush=True)


# Bench side ---------------------------------------------------------------------------------


async def _start_gateway(nats_url: str, port: int, clients: int) -> asyncio.subprocess.Process:
    env = os.environ | {
        "OLLAMON_GATEWAY_MAX_CONNECTIONS": str(clients + CONNECTION_MARGIN),
        "OLLAMON_NATS_URL": nats_url,
        "OLLAMON_GATEWAY_PORT": str(port),
        "OLLAMON_LOG_LEVEL": "WARNING",
        "OLLAMON_HEARTBEAT_INTERVAL": "5",
        "OLLAMON_SSE_HEARTBEAT": "15",
    }
    process = await asyncio.create_subprocess_exec(sys.executable, "-m", "ollamon_gateway", env=env)
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    async with httpx.AsyncClient(timeout=2) as client:
        while True:
            try:
                response = await client.get(
                    f"http://127.0.0.1:{port}/api/ai/ollama/performance/status"
                )
                if response.status_code == 200:
                    return process
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or process.returncode is not None:
                raise RuntimeError("the gateway did not start")
            await asyncio.sleep(0.1)


async def _measure(bus: Bus, port: int, clients: int, events: int) -> dict[str, object]:
    """Hold `clients` streams in child processes, publish `events` at 1/s, gather latencies."""
    processes = []
    for start in range(0, clients, CLIENTS_PER_PROCESS):
        count = min(CLIENTS_PER_PROCESS, clients - start)
        processes.append(
            await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bench.scenarios.sse_fanout",
                "127.0.0.1",
                str(port),
                str(count),
                str(events),
                stdout=asyncio.subprocess.PIPE,
                cwd=REPOSITORY_ROOT,
            )
        )
    for process in processes:
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), 90)
        if line.strip() != b"ready":
            raise RuntimeError(f"a client process failed to connect: {line!r}")
    await asyncio.sleep(1.0)
    for _ in range(events):
        sample = OllamaSystemMetrics(
            host=BENCH_HOST,
            cpu_usage_percent=10.0,
            memory_usage_percent=20.0,
            memory_available_gb=8.0,
            disk_usage_percent=30.0,
        )
        await bus.publish(sample)
        await bus.nc.flush()
        await asyncio.sleep(1.0)
    latencies: list[float] = []
    errors: list[str] = []
    for process in processes:
        try:
            stdout, _ = await asyncio.wait_for(process.communicate(), 30)
        except TimeoutError:
            process.kill()
            errors.append("a client process did not finish")
            continue
        report = json.loads(stdout.decode().splitlines()[-1])
        latencies.extend(report["latencies_ms"])
        errors.extend(report["errors"])
    return {
        "p50_ms": percentile(latencies, 0.50),
        "p99_ms": percentile(latencies, 0.99),
        "max_ms": max(latencies, default=None),
        "delivered": len(latencies),
        "expected": clients * events,
        "errors": errors[:5],
    }


async def run(ctx: BenchContext) -> list[BenchResult]:
    """Reference with 1 client, then the target client count, against one gateway."""
    clients = QUICK_CLIENTS if ctx.quick else TARGET_CLIENTS
    events = 10 if ctx.quick else 30
    with NatsServer(ctx.work_dir / "nats") as server:
        bus = await Bus.connect(server.url, ServiceName.PROBE)
        port = free_port()
        gateway = await _start_gateway(server.url, port, clients)
        try:
            reference = await _measure(bus, port, 1, min(events, 10))
            loaded = await _measure(bus, port, clients, events)
            async with httpx.AsyncClient(timeout=5) as client:
                status = (
                    await client.get(f"http://127.0.0.1:{port}/api/ai/ollama/performance/status")
                ).json()
        finally:
            gateway.terminate()
            await asyncio.wait_for(gateway.wait(), 20)
            await bus.close()
    p99 = float(loaded["p99_ms"] or 0.0)  # type: ignore[arg-type]
    complete = loaded["delivered"] == loaded["expected"]
    return [
        BenchResult(
            scenario=NAME,
            metric=f"delivery p99, {clients} clients",
            ours=p99,
            unit="ms",
            reference=float(reference["p99_ms"] or 0.0),  # type: ignore[arg-type]
            reference_label="delivery p99, 1 client",
            target=f"p99 <= {TARGET_P99_MS:g} ms at {TARGET_CLIENTS} clients",
            met=(p99 <= TARGET_P99_MS and complete) if clients >= TARGET_CLIENTS else None,
            notes={
                "loaded": loaded,
                "reference": reference,
                "gateway_stream": status.get("stream"),
                "events_per_client_per_second": 1,
            },
        )
    ]


if __name__ == "__main__":
    host_arg, port_arg, clients_arg, events_arg = sys.argv[1:5]
    asyncio.run(_client_process(host_arg, int(port_arg), int(clients_arg), int(events_arg)))
