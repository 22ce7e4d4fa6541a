"""Proxy overhead: what `python -m ollamon_probe` adds to a request, against direct calls.

The emulator (no simulated delays) and the probe each run as their own process, the probe
publishing to a real nats-server as in production. A third process is the floor: a bare
ASGI passthrough under the same uvicorn settings and upstream pool, with no measuring and
no NATS, so the figures tell the cost of the second HTTP hop from the cost of measuring.
One client rotates direct, proxied and floor calls (order shifted every round) so all see
the same machine state. Figures: non-streamed `/api/generate` latency and streamed time to
first chunk, p50 and p99. Targets: the proxy adds at most 1 ms at p50 and 5 ms at p99.

`python -m bench.scenarios.proxy_overhead --floor PORT UPSTREAM_URL` runs the floor alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from typing import Any

import httpx
import uvloop

from bench.harness import BenchContext, BenchResult
from ollamon_cli.nats_server import NatsServer, free_port
from ollamon_core.stats import percentile
from ollamon_probe.http1_pool import UpstreamPool
from ollamon_probe.server import serving
from ollamon_probe.upstream import (
    CONNECT_TIMEOUT_SECONDS,
    forwarded_headers,
    reply_headers,
    request_target,
)

NAME = "proxy_overhead"
BODY = {"model": "bench", "prompt": "one two three", "options": {"temperature": 0.1}}
ADDED_TARGETS_MS = {0.5: 1.0, 0.99: 5.0}


@contextlib.asynccontextmanager
async def process(args: list[str], env: dict[str, str], port: int) -> AsyncIterator[None]:
    """Run a Python module until the block ends; wait until it listens on `port`."""
    child = await asyncio.create_subprocess_exec(
        sys.executable, *args, env=os.environ | env, stdout=asyncio.subprocess.DEVNULL
    )
    try:
        async with asyncio.timeout(20):
            while True:
                try:
                    _, writer = await asyncio.open_connection("127.0.0.1", port)
                    writer.close()
                    break
                except OSError:
                    await asyncio.sleep(0.05)
        yield
    finally:
        child.terminate()
        try:
            await asyncio.wait_for(child.wait(), 10)
        except TimeoutError:
            child.kill()


async def non_streamed(http: httpx.AsyncClient, base: str) -> float:
    started = time.perf_counter()
    reply = await http.post(f"{base}/api/generate", json=BODY | {"stream": False})
    reply.raise_for_status()
    return (time.perf_counter() - started) * 1000.0


async def first_chunk(http: httpx.AsyncClient, base: str) -> float:
    started = time.perf_counter()
    async with http.stream("POST", f"{base}/api/generate", json=BODY) as reply:
        reply.raise_for_status()
        elapsed = 0.0
        async for _ in reply.aiter_raw():
            if not elapsed:
                elapsed = (time.perf_counter() - started) * 1000.0
    return elapsed


async def rotated(
    call: Callable[[httpx.AsyncClient, str], Awaitable[float]],
    http: httpx.AsyncClient,
    targets: dict[str, str],
    rounds: int,
) -> dict[str, list[float]]:
    """Call every target once a round, the order shifted each round; 20 warm-up rounds."""
    names = list(targets)
    timings: dict[str, list[float]] = {name: [] for name in names}
    for index in range(rounds + 20):
        shift = index % len(names)
        for name in names[shift:] + names[:shift]:
            elapsed_ms = await call(http, targets[name])
            if index >= 20:
                timings[name].append(elapsed_ms)
    return timings


def results(label: str, timings: dict[str, list[float]]) -> list[BenchResult]:
    rows = []
    for fraction, limit_ms in ADDED_TARGETS_MS.items():
        reference = percentile(timings["direct"], fraction) or 0.0
        for name, measured in (("proxied", True), ("floor", False)):
            ours = percentile(timings[name], fraction) or 0.0
            added = ours - reference
            rows.append(
                BenchResult(
                    scenario=NAME,
                    metric=f"{label} p{int(fraction * 100)} (ms)"
                    + ("" if measured else ", bare passthrough"),
                    ours=ours,
                    unit="ms",
                    reference=reference,
                    reference_label="direct to the emulator",
                    target=(
                        f"adds <= {limit_ms:g} ms (added {added:.3f} ms)"
                        if measured
                        else f"floor, no target (added {added:.3f} ms)"
                    ),
                    met=added <= limit_ms if measured else None,
                    notes={"added_ms": round(added, 4), "samples": len(timings[name])},
                )
            )
    return rows


async def run(ctx: BenchContext) -> list[BenchResult]:
    """Measure the proxy's added latency and time to first chunk, beside the floor's."""
    rounds = 300 if ctx.quick else 3000
    emulator_port, proxy_port, floor_port = free_port(), free_port(), free_port()
    direct = f"http://127.0.0.1:{emulator_port}"
    targets = {
        "direct": direct,
        "proxied": f"http://127.0.0.1:{proxy_port}",
        "floor": f"http://127.0.0.1:{floor_port}",
    }
    with NatsServer(ctx.work_dir / "nats") as nats:
        emulator = ["-m", "ollama_emulator", "--scenario", "bench", "--port", str(emulator_port)]
        probe_env = {
            "OLLAMON_NATS_URL": nats.url,
            "OLLAMON_OLLAMA_URL": direct,
            "OLLAMON_PROXY_PORT": str(proxy_port),
            "OLLAMON_LOG_LEVEL": "WARNING",
        }
        floor = ["-m", "bench.scenarios.proxy_overhead", "--floor", str(floor_port), direct]
        async with (
            process(emulator, {}, emulator_port),
            process(["-m", "ollamon_probe"], probe_env, proxy_port),
            process(floor, {}, floor_port),
            httpx.AsyncClient(timeout=30) as http,
        ):
            plain = await rotated(non_streamed, http, targets, rounds)
            streamed = await rotated(first_chunk, http, targets, rounds)
    return [
        *results("non-streamed latency", plain),
        *results("streamed time to first chunk", streamed),
    ]


async def serve_floor(port: int, upstream_url: str) -> None:
    """A bare passthrough: each request to Ollama over the proxy's pool, nothing measured."""
    pool = UpstreamPool(upstream_url, CONNECT_TIMEOUT_SECONDS, 600.0)

    async def app(scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        headers, has_body = forwarded_headers(scope["headers"])
        body = b""
        more = has_body
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        response = await pool.request(
            scope["method"], request_target(scope), headers, body if has_body else None
        )
        start = {"status": response.status, "headers": reply_headers(response.headers)}
        await send({"type": "http.response.start", **start})
        async for piece, last in response.pieces():
            await send({"type": "http.response.body", "body": piece, "more_body": not last})
        response.release()

    async with serving(app, "127.0.0.1", port):
        await asyncio.Event().wait()


if __name__ == "__main__" and sys.argv[1:2] == ["--floor"]:
    uvloop.run(serve_floor(int(sys.argv[2]), sys.argv[3]))
