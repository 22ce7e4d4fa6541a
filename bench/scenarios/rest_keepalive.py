"""REST on one kept-alive connection: the gateway against a bare Litestar app, same server.

The gateway runs as its own process (`python -m ollamon_gateway`) on a real nats-server, with
storage (`python -m ollamon_storage`) behind `/summary`. The reference is a bare Litestar app
with one route answering a small JSON object, served the way the gateway serves (uvicorn,
httptools under `ollamon_http.limited_protocol`, a listening socket made as TCP, asyncio's
default loop as the gateway's `run_service`) in a process of its own. One client connection
per server sends a GET, reads the whole reply, then sends the next (HTTP/1.1 keep-alive);
the connections take turns, one request each. Targets (issue
18): `/status` p50 <= 1 ms and p99 <= 5 ms, each within 2x the bare app's. Before 2746f24
every request after a connection's first waited for the client's delayed ACK: ~44 ms.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import sys
import time
from collections import Counter

import uvicorn
from litestar import Litestar, get

from bench.harness import BenchContext, BenchResult
from ollamon_cli.nats_server import NatsServer, free_port
from ollamon_core import subjects
from ollamon_core.bus import Bus
from ollamon_core.events import ServiceName
from ollamon_core.stats import percentile
from ollamon_gateway.server import DEFAULT_LIMITS
from ollamon_http import EmbeddedServer, RefusalLog, limited_protocol

NAME = "rest_keepalive"

API = "/api/ai/ollama/performance"
STARTUP_TIMEOUT_SECONDS = 30.0
WARMUP_REQUESTS = 20
QUICK_ROUNDS, FULL_ROUNDS = 4, 20  # of REQUESTS_PER_ROUND GETs per route
REQUESTS_PER_ROUND = 100
TARGET_P50_MS, TARGET_P99_MS, TARGET_RATIO = 1.0, 5.0, 2.0


# The bare app, in a child process -----------------------------------------------------------


@get(f"{API}/status", sync_to_thread=False)
def _bare_status() -> dict[str, object]:
    return {"services": {}, "nats": {"connected": True}, "stream": None}


async def _serve_bare(port: int) -> None:
    """Serve the bare app as `ollamon_gateway.server.AppServer` serves the gateway."""
    listening = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listening.bind(("127.0.0.1", port))
    config = uvicorn.Config(
        Litestar(route_handlers=[_bare_status], logging_config=None),
        http=limited_protocol(DEFAULT_LIMITS, RefusalLog("the bare app", Counter())),
        ws="none",
        log_level="warning",
        log_config=None,
        access_log=False,
        backlog=4096,
    )
    await EmbeddedServer(config).serve(sockets=[listening])


# The client -----------------------------------------------------------------------------


class _KeptAlive:
    """One HTTP/1.1 connection; `get` times one request until its whole body is read."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, port: int):
        self.reader, self.writer, self.port = reader, writer, port

    @classmethod
    async def open(cls, port: int) -> _KeptAlive:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(reader, writer, port)

    async def get(self, path: str) -> float:
        request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n\r\n".encode()
        started = time.perf_counter()
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = head.split(b" ", 2)[1]
        length = next(
            int(line.split(b":", 1)[1])
            for line in head.lower().split(b"\r\n")
            if line.startswith(b"content-length:")
        )
        await self.reader.readexactly(length)
        elapsed_ms = (time.perf_counter() - started) * 1000
        if status != b"200":
            raise RuntimeError(f"GET {path} on port {self.port}: HTTP {status.decode()}")
        if b"connection: close" in head.lower():
            raise RuntimeError(f"GET {path} on port {self.port}: the server closed")
        return elapsed_ms

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(ConnectionError):
            await self.writer.wait_closed()


# The bench ------------------------------------------------------------------------------


async def _start(args: list[str], env: dict[str, str]) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, *args, env=os.environ | env | {"OLLAMON_LOG_LEVEL": "WARNING"}
    )


async def _wait_answering(port: int, path: str, process: asyncio.subprocess.Process) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while True:
        try:
            connection = await _KeptAlive.open(port)
            try:
                await connection.get(path)
                return
            finally:
                await connection.close()
        except (OSError, RuntimeError, asyncio.IncompleteReadError):
            pass
        if time.monotonic() > deadline or process.returncode is not None:
            raise RuntimeError(f"nothing answered {path} on port {port}")
        await asyncio.sleep(0.1)


async def _wait_storage_consuming(bus: Bus) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):  # the consumer is not created yet
            info = await bus.js.consumer_info(subjects.STREAM_EVENTS, subjects.STORAGE_DURABLE)
            if info.push_bound:
                return
        await asyncio.sleep(0.1)
    raise RuntimeError("storage did not start consuming")


def _results(timings: dict[str, list[float]], first_ms: dict[str, float]) -> list[BenchResult]:
    bare = timings["bare"]
    results = []
    for label, fraction, target_ms in (("p50", 0.5, TARGET_P50_MS), ("p99", 0.99, TARGET_P99_MS)):
        reference = percentile(bare, fraction) or 0.0
        for route in ("status", "summary"):
            ours = percentile(timings[route], fraction) or 0.0
            is_status = route == "status"
            met = None
            if is_status:
                met = ours <= target_ms and (reference == 0 or ours <= TARGET_RATIO * reference)
            results.append(
                BenchResult(
                    scenario=NAME,
                    metric=f"GET /{route} kept-alive {label} (ms)"
                    + ("" if is_status else ", storage"),
                    ours=ours,
                    unit="ms",
                    reference=reference,
                    reference_label=f"bare Litestar app {label}",
                    target=(f"<= {target_ms:g} ms, <= {TARGET_RATIO:g}x bare" if is_status else ""),
                    met=met,
                    notes={
                        "samples": len(timings[route]),
                        "max_ms": round(max(timings[route]), 3),
                        "bare_max_ms": round(max(bare), 3),
                        "first_request_on_the_connection_ms": round(first_ms[route], 3),
                        "over_40_ms": sum(1 for value in timings[route] if value >= 40),
                    },
                )
            )
    return results


async def run(ctx: BenchContext) -> list[BenchResult]:
    rounds = QUICK_ROUNDS if ctx.quick else FULL_ROUNDS
    paths = {"bare": f"{API}/status", "status": f"{API}/status", "summary": f"{API}/summary"}
    storage_path = ctx.work_dir / "storage"
    storage_path.mkdir(parents=True)
    with NatsServer(ctx.work_dir / "nats") as server:
        bus = await Bus.connect(server.url, ServiceName.PROBE)
        gateway_port, bare_port = free_port(), free_port()
        processes = [
            await _start(
                ["-m", "ollamon_storage"],
                {
                    "OLLAMON_NATS_URL": server.url,
                    "OLLAMA_PERFORMANCE_STORAGE_PATH": str(storage_path),
                },
            ),
            await _start(
                ["-m", "ollamon_gateway"],
                {
                    "OLLAMON_NATS_URL": server.url,
                    "OLLAMON_GATEWAY_PORT": str(gateway_port),
                    "OLLAMON_HEARTBEAT_INTERVAL": "5",
                },
            ),
            await _start(["-m", "bench.scenarios.rest_keepalive", str(bare_port)], {}),
        ]
        connections: dict[str, _KeptAlive] = {}
        try:
            await _wait_storage_consuming(bus)
            ports = {"bare": bare_port, "status": gateway_port, "summary": gateway_port}
            await _wait_answering(gateway_port, paths["summary"], processes[1])
            await _wait_answering(bare_port, paths["bare"], processes[2])
            first_ms: dict[str, float] = {}
            for route, port in ports.items():
                connections[route] = await _KeptAlive.open(port)
                first_ms[route] = await connections[route].get(paths[route])
                for _ in range(WARMUP_REQUESTS):
                    await connections[route].get(paths[route])
            timings: dict[str, list[float]] = {route: [] for route in ports}
            # One request per server in turn: the machine's noise falls on all of them, and
            # no connection idles past the servers' keep-alive timeout (uvicorn's 5 s).
            for _ in range(rounds * REQUESTS_PER_ROUND):
                for route, connection in connections.items():
                    timings[route].append(await connection.get(paths[route]))
        finally:
            for connection in connections.values():
                await connection.close()
            for process in processes:
                if process.returncode is None:
                    process.terminate()
            for process in processes:
                await asyncio.wait_for(process.wait(), 20)
            await bus.close()
    return _results(timings, first_ms)


if __name__ == "__main__":
    asyncio.run(_serve_bare(int(sys.argv[1])))
