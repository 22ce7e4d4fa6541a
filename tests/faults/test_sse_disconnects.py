"""200 SSE clients that vanish without a goodbye: the gateway forgets them and its memory
returns to where it was.

Each client is a raw TCP connection that asks for the stream, reads the response head and
then stops reading while events keep coming (its queue in the gateway fills), and finally
resets the connection (SO_LINGER 0: an RST, no FIN). The gateway's own count of stream
clients (`/status` -> `stream.clients`) must fall back to zero, and the RSS of the gateway
process must not grow from one round of 200 such clients to the next. The first round is a
warm-up: it leaves the allocator's arenas and the import-time caches in place, so the
baseline is measured after it.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import psutil
import pytest

from tests.faults.observers import SteadyTraffic, restarts_reported, service_processes
from tests.faults.stack_under_fault import fault_stack
from tests.support.waiting import wait_for_async

pytestmark = pytest.mark.timeout(150)

CLIENTS = 200
ROUNDS = 3
HOLD_SECONDS = 1.0
RSS_GROWTH_LIMIT_BYTES = 8 * 1024 * 1024
STATUS = "/api/ai/ollama/performance/status"
STREAM = "/api/ai/ollama/performance/stream"


async def open_stream(host: str, port: int) -> asyncio.StreamWriter:
    """Ask for the stream and read the response head; return the connection."""
    reader, writer = await asyncio.open_connection(host, port)
    request = f"GET {STREAM} HTTP/1.1\r\nHost: {host}:{port}\r\nAccept: text/event-stream\r\n\r\n"
    writer.write(request.encode())
    await writer.drain()
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
    assert head.startswith(b"HTTP/1.1 200"), head[:80]
    return writer


def reset(writer: asyncio.StreamWriter) -> None:
    """Drop the connection with an RST, as a crashed browser or a pulled cable would."""
    sock = writer.get_extra_info("socket")
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


async def rss(process: psutil.Process) -> int:
    """Resident memory of `process`, read off the event loop."""
    return int((await asyncio.to_thread(process.memory_info)).rss)


def running_and_not_a_zombie(process: psutil.Process) -> bool:
    return process.is_running() and process.status() != psutil.STATUS_ZOMBIE


async def stream_clients(http: httpx.AsyncClient) -> int:
    return int((await http.get(STATUS)).json()["stream"]["clients"])


async def one_round(
    http: httpx.AsyncClient, host: str, port: int, gateway: psutil.Process
) -> tuple[int, float, int]:
    """Connect CLIENTS, let events pile up, reset them all.

    Returns the clients the gateway counted, the seconds it took to forget them all, and its
    RSS while they were connected.
    """
    writers = await asyncio.gather(*(open_stream(host, port) for _ in range(CLIENTS)))

    async def all_connected() -> int | None:
        count = await stream_clients(http)
        return count if count >= CLIENTS else None

    connected = await wait_for_async(all_connected, timeout=15, message="clients connected")
    assert isinstance(connected, int)
    await asyncio.sleep(HOLD_SECONDS)
    connected_rss = await rss(gateway)
    for writer in writers:
        reset(writer)
    dropped_at = asyncio.get_running_loop().time()

    async def all_forgotten() -> bool:
        return await stream_clients(http) == 0

    await wait_for_async(all_forgotten, timeout=15, message="every client forgotten")
    return connected, asyncio.get_running_loop().time() - dropped_at, connected_rss


async def test_sse_clients_that_reset_their_connections_leave_no_clients_and_no_memory_behind(
    tmp_path: Path,
) -> None:
    async with fault_stack(tmp_path) as faults:
        gateway = (await service_processes(faults.stack))["gateway"]
        url = urlsplit(faults.stack.gateway_url)
        host, port = url.hostname or "127.0.0.1", url.port or 80
        traffic = SteadyTraffic(faults.stack.proxy_url, requests_per_second=20)
        traffic.start()
        try:
            async with httpx.AsyncClient(base_url=faults.stack.gateway_url, timeout=10) as http:
                rss_before_any = await rss(gateway)
                await one_round(http, host, port, gateway)  # warm-up
                baseline_rss = await rss(gateway)
                rounds = []
                for _ in range(ROUNDS):
                    connected, forget_seconds, peak_rss = await one_round(http, host, port, gateway)
                    rounds.append((connected, forget_seconds, peak_rss, await rss(gateway)))
                final_clients = await stream_clients(http)
        finally:
            await traffic.stop()

        mib = 1024 * 1024
        print(
            f"gateway RSS {rss_before_any / mib:.1f} MiB before any client, "
            f"{baseline_rss / mib:.1f} MiB after the warm-up round; after each round of "
            f"{CLIENTS} reset clients: "
            + ", ".join(
                f"{rss / mib:.1f} MiB ({connected} connected at {peak / mib:.1f} MiB, "
                f"all forgotten in {seconds:.2f} s)"
                for connected, seconds, peak, rss in rounds
            )
        )
        assert final_clients == 0
        assert all(connected == CLIENTS for connected, *_ in rounds)
        assert all(rss <= baseline_rss + RSS_GROWTH_LIMIT_BYTES for *_, rss in rounds)
        assert await asyncio.to_thread(running_and_not_a_zombie, gateway)
        assert restarts_reported(faults.stack) == []
