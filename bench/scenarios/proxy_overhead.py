"""Proxy overhead: what `python -m ollamon_probe` adds to a request, against direct calls.

The emulator (no simulated delays) and the probe each run as their own process, the probe
publishing to a real nats-server as in production. One client alternates direct and
proxied calls (order flipped every pair) so both see the same machine state. Figures:
non-streamed `/api/generate` latency and streamed time to first chunk, p50 and p99.
Targets: the proxy adds at most 1 ms at p50 and 5 ms at p99.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx

from bench.harness import BenchContext, BenchResult
from ollamon_core.nats_server import NatsServer, free_port
from ollamon_core.stats import percentile

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


async def interleaved(
    call: Callable[[httpx.AsyncClient, str], Awaitable[float]],
    http: httpx.AsyncClient,
    direct: str,
    proxied: str,
    pairs: int,
) -> tuple[list[float], list[float]]:
    """Alternate direct and proxied calls; the first few pairs warm up and are dropped."""
    direct_ms: list[float] = []
    proxied_ms: list[float] = []
    for index in range(pairs + 20):
        if index % 2:
            through, straight = await call(http, proxied), await call(http, direct)
        else:
            straight, through = await call(http, direct), await call(http, proxied)
        if index >= 20:
            direct_ms.append(straight)
            proxied_ms.append(through)
    return direct_ms, proxied_ms


def results(label: str, direct_ms: list[float], proxied_ms: list[float]) -> list[BenchResult]:
    rows = []
    for fraction, limit_ms in ADDED_TARGETS_MS.items():
        ours = percentile(proxied_ms, fraction) or 0.0
        reference = percentile(direct_ms, fraction) or 0.0
        added = ours - reference
        rows.append(
            BenchResult(
                scenario=NAME,
                metric=f"{label} p{int(fraction * 100)} (ms)",
                ours=ours,
                unit="ms",
                reference=reference,
                reference_label="direct to the emulator",
                target=f"adds <= {limit_ms:g} ms (added {added:.3f} ms)",
                met=added <= limit_ms,
                notes={"added_ms": round(added, 4), "samples": len(proxied_ms)},
            )
        )
    return rows


async def run(ctx: BenchContext) -> list[BenchResult]:
    """Measure the proxy's added latency and time to first chunk."""
    pairs = 300 if ctx.quick else 3000
    emulator_port, proxy_port = free_port(), free_port()
    direct = f"http://127.0.0.1:{emulator_port}"
    proxied = f"http://127.0.0.1:{proxy_port}"
    with NatsServer(ctx.work_dir / "nats") as nats:
        emulator = ["-m", "ollama_emulator", "--scenario", "bench", "--port", str(emulator_port)]
        probe_env = {
            "OLLAMON_NATS_URL": nats.url,
            "OLLAMON_OLLAMA_URL": direct,
            "OLLAMON_PROXY_PORT": str(proxy_port),
            "OLLAMON_LOG_LEVEL": "WARNING",
        }
        async with (
            process(emulator, {}, emulator_port),
            process(["-m", "ollamon_probe"], probe_env, proxy_port),
            httpx.AsyncClient(timeout=30) as http,
        ):
            plain = await interleaved(non_streamed, http, direct, proxied, pairs)
            streamed = await interleaved(first_chunk, http, direct, proxied, pairs)
    return [
        *results("non-streamed latency", *plain),
        *results("streamed time to first chunk", *streamed),
    ]
