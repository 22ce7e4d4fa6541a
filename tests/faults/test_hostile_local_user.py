"""A hostile local user and a hostile web page against `ollamon up` with the emulator as Ollama:
what issue 12 found open is refused, cut off or contained, and the stack keeps working.

- Slow and huge clients: 40 MiB request heads to the proxy and the gateway, hundreds of
  slowloris connections and stalled bodies on the proxy (more than its connection cap), and
  a flood of malformed requests, while steady traffic goes through the proxy. Small limits
  are set through the stack's environment so the test is quick.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from urllib.parse import urlsplit

import psutil
import pytest

from tests.faults.observers import SteadyTraffic, restarts_reported, service_processes
from tests.faults.stack_under_fault import FaultStack, fault_stack
from tests.support.hostile_clients import (
    Slowloris,
    StalledBody,
    host_and_port,
    huge_head,
    status_of,
)
from tests.support.waiting import wait_for

pytestmark = pytest.mark.timeout(240)

HEAD_TIMEOUT_SECONDS = 1.0
BODY_IDLE_SECONDS = 1.0
PROXY_MAX_CONNECTIONS = 64
LIMITS_ENV = {
    "OLLAMON_PROXY_HEADER_TIMEOUT": str(HEAD_TIMEOUT_SECONDS),
    "OLLAMON_PROXY_BODY_IDLE_TIMEOUT": str(BODY_IDLE_SECONDS),
    "OLLAMON_PROXY_MAX_CONNECTIONS": str(PROXY_MAX_CONNECTIONS),
    "OLLAMON_GATEWAY_HEADER_TIMEOUT": str(HEAD_TIMEOUT_SECONDS),
}
HUGE_HEAD_BYTES = 40 * 1024 * 1024
HUGE_HEADS = 4
SLOWLORIS = 500
STALLED_BODIES = 100
MALFORMED = 100


def rss_mib(process: psutil.Process) -> float:
    return process.memory_info().rss / 2**20


def connections_to(process: psutil.Process, port: int) -> int:
    """Established TCP connections of `process` to `port` (the probe's to Ollama)."""
    return sum(
        1
        for connection in process.net_connections("tcp")
        if connection.raddr
        and connection.raddr.port == port
        and connection.status == psutil.CONN_ESTABLISHED
    )


async def malformed_requests(url: str, count: int, at_once: int = 10) -> list[int | None]:
    """Send `count` requests that are not HTTP, `at_once` at a time (under the connection cap);
    the status of each reply."""
    gate = asyncio.Semaphore(at_once)

    async def one() -> int | None:
        async with gate:
            reader, writer = await asyncio.open_connection(*host_and_port(url))
            writer.write(b"\x16\x03\x01 not HTTP at all\r\n\r\n")
            try:
                async with asyncio.timeout(10):
                    return status_of(await reader.read())
            finally:
                writer.close()

    return await asyncio.gather(*(one() for _ in range(count)))


def refusal_lines(faults: FaultStack, service: str) -> list[str]:
    return [
        line
        for line in faults.stack.output
        if f" {service} " in line and "ollamon_http.refusals" in line
    ]


async def test_slow_and_huge_clients_are_cut_off_while_the_proxy_keeps_answering(
    tmp_path: Path,
) -> None:
    async with fault_stack(tmp_path, env=LIMITS_ENV) as faults:
        stack = faults.stack
        processes = await service_processes(stack)
        probe, gateway = processes["probe"], processes["gateway"]
        pids_before = {name: process.pid for name, process in processes.items()}
        ollama_port = urlsplit(faults.ollama.url).port
        assert ollama_port is not None
        rss_before = {
            "probe": await asyncio.to_thread(rss_mib, probe),
            "gateway": await asyncio.to_thread(rss_mib, gateway),
        }

        # Huge heads, held open by their senders until the servers close them.
        heads = await asyncio.gather(
            *(huge_head(stack.proxy_url, HUGE_HEAD_BYTES) for _ in range(HUGE_HEADS)),
            *(
                huge_head(stack.gateway_url, HUGE_HEAD_BYTES, path="/metrics")
                for _ in range(HUGE_HEADS)
            ),
        )
        rss_after = {
            "probe": await asyncio.to_thread(rss_mib, probe),
            "gateway": await asyncio.to_thread(rss_mib, gateway),
        }
        print(
            f"{HUGE_HEADS} heads of {HUGE_HEAD_BYTES >> 20} MiB to the proxy and to the gateway: "
            f"statuses {[head.status for head in heads]} (None: reset before the reply); "
            f"RSS {rss_before} -> {rss_after} MiB"
        )
        assert all(head.status in (431, None) for head in heads)
        for service in ("probe", "gateway"):
            assert rss_after[service] - rss_before[service] < 32

        # Slowloris, more than the proxy's connection cap, under steady traffic.
        traffic = SteadyTraffic(stack.proxy_url, requests_per_second=20)
        traffic.start()
        started = time.monotonic()
        slow = [Slowloris(stack.proxy_url, pause_seconds=0.1).start() for _ in range(SLOWLORIS)]
        try:
            slow_endings = [await client.cut() for client in slow]
        finally:
            for client in slow:
                client.stop()
        cut_after = time.monotonic() - started
        await traffic.stop()
        slow_statuses = [ending.status for ending in slow_endings]
        print(
            f"{SLOWLORIS} slowloris against a cap of {PROXY_MAX_CONNECTIONS}: all ended within "
            f"{cut_after:.1f} s, {slow_statuses.count(408)} with 408, "
            f"{slow_statuses.count(None)} closed "
            f"(idle, to let a newer connection in); steady traffic meanwhile "
            f"{dict(traffic.outcomes)}"
        )
        assert all(status in (408, None) for status in slow_statuses)
        assert traffic.answered >= 1
        assert set(traffic.outcomes) == {"200"}

        # Stalled bodies, more than the cap: each one let in holds a connection to Ollama until
        # it is cut; the rest are closed to make room while idle, or refused with 503.
        upstream_before = await asyncio.to_thread(connections_to, probe, ollama_port)
        upstream_seen: list[int] = []

        async def sample_upstream() -> None:
            while True:  # each sample reads /proc in a thread
                upstream_seen.append(await asyncio.to_thread(connections_to, probe, ollama_port))

        sampler = asyncio.create_task(sample_upstream())
        stalled = [
            StalledBody(
                stack.proxy_url, "/api/generate", 100_000, b'{"model": "llama3.2:1b", '
            ).start()
            for _ in range(STALLED_BODIES)
        ]
        try:
            body_endings = [await body.cut() for body in stalled]
            await wait_for(
                lambda: upstream_seen[-1] <= upstream_before,
                timeout=15,
                message="the probe's connections to Ollama back to where they were",
            )
        finally:
            sampler.cancel()
            for body in stalled:
                body.stop()
        upstream_peak = max(upstream_seen)
        body_statuses = [ending.status for ending in body_endings]
        print(
            f"{STALLED_BODIES} stalled bodies against a cap of {PROXY_MAX_CONNECTIONS}: "
            f"{body_statuses.count(408)} let in and cut with 408, "
            f"{body_statuses.count(503)} refused with 503 (every connection busy), "
            f"{body_statuses.count(None)} closed before a reply could be read (idle when a "
            "newer one came, or reset) "
            f"({sum(ending.reset for ending in body_endings)} reset); the probe's connections "
            f"to Ollama {upstream_before} -> {upstream_peak} -> {upstream_seen[-1]}"
        )
        assert all(status in (408, 503, None) for status in body_statuses)
        assert upstream_peak >= body_statuses.count(408)

        # A flood of malformed requests: answered 400, counted, and logged once.
        assert await malformed_requests(stack.proxy_url, MALFORMED) == [400] * MALFORMED
        await wait_for(
            lambda: faults.heartbeats.counter("probe", "http_malformed_requests") >= MALFORMED,
            timeout=15,
            message="the malformed requests in the probe's heartbeat",
        )
        counters = {
            name: faults.heartbeats.counter("probe", name)
            for name in (
                "http_oversized_heads",
                "http_head_timeouts",
                "http_shed_connections",
                "http_body_timeouts",
                "http_malformed_requests",
                "http_refused_connections",
                "cancelled_requests",
            )
        }
        lines = refusal_lines(faults, "probe")
        print(f"probe's heartbeat counters {counters}; its refusal log lines: {lines}")
        assert counters["http_oversized_heads"] == HUGE_HEADS
        # Each slowloris and stalled body is one refusal: cut, or closed to make room (a
        # connection whose head has not arrived yet is idle too), or refused.
        assert counters["http_body_timeouts"] == body_statuses.count(408)
        assert counters["http_head_timeouts"] + counters["http_shed_connections"] + counters[
            "http_refused_connections"
        ] == SLOWLORIS + STALLED_BODIES - body_statuses.count(408)
        assert counters["http_malformed_requests"] == MALFORMED
        assert len(lines) <= 2  # the first refusal, and at most one summary a minute
        assert not any("Traceback" in line for line in stack.output)
        assert restarts_reported(stack) == []
        assert {n: p.pid for n, p in (await service_processes(stack)).items()} == pids_before
