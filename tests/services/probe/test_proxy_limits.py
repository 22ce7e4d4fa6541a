"""The proxy's limits on its clients: a stalled body is cut and its request to Ollama dropped,
a steadily sent 100 MB body passes, and huge heads neither grow the probe's memory nor flood
its log (a real `python -m ollamon_probe`). The limits themselves: tests/libs/http/."""

from __future__ import annotations

import asyncio
import base64
import os
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass

import httpx
import psutil
import pytest

from ollamon_cli.nats_server import free_port
from ollamon_core.events import OllamaModelMetrics
from tests.services.probe.conftest import Emulated
from tests.services.probe.echo_upstream import EchoUpstream
from tests.services.probe.sinks import FrontedProxy, Upstream, proxy_in_front_of
from tests.services.probe.test_probe_process import wait_until_listening
from tests.support.asgi import Receive, Scope, Send, read_body_size
from tests.support.hostile_clients import StalledBody, huge_head
from tests.support.waiting import wait_for

BODY_IDLE_SECONDS = 0.5
HUNDRED_MB = 100 * 1024 * 1024


@dataclass
class WaitingOllama:
    """An upstream that reads request bodies to their end; counts requests begun and the
    ones whose connection the proxy dropped before the body ended."""

    begun: int = 0
    dropped: int = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        self.begun += 1
        _, ended = await read_body_size(receive)
        if not ended:
            self.dropped += 1
            return
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})


def limited_proxy(upstream: Upstream) -> AbstractAsyncContextManager[FrontedProxy[Upstream]]:
    """The proxy in front of `upstream`, cutting bodies stalled for `BODY_IDLE_SECONDS`."""
    return proxy_in_front_of(upstream, proxy_body_idle_timeout_seconds=BODY_IDLE_SECONDS)


async def test_a_stalled_body_is_cut_and_its_request_to_ollama_dropped() -> None:
    ollama = WaitingOllama()
    async with limited_proxy(ollama) as proxy:
        stalled = StalledBody(
            proxy.url, "/api/generate", 100_000, b'{"model": "llama3.2:1b", "prompt": "'
        ).start()
        await wait_for(lambda: ollama.begun == 1, message="the request reached Ollama")
        ending = await stalled.cut()
        await wait_for(lambda: ollama.dropped == 1, message="Ollama saw the proxy hang up")
        await wait_for(lambda: proxy.sink.events, message="the request's event")
    print(f"stalled body: {ending}; counters {dict(proxy.app.counters)}")
    assert ending.status == 408
    assert proxy.app.counters["http_body_timeouts"] == 1
    assert proxy.app.counters["cancelled_requests"] == 1
    [event] = proxy.sink.events
    assert isinstance(event, OllamaModelMetrics)
    assert (event.cancelled, event.status_code) == (True, 499)


async def test_a_steadily_sent_100_mb_chat_with_an_image_passes() -> None:
    image = base64.b64encode(os.urandom(768 * 1024))  # 1 MiB of base64 per piece
    head = b'{"model": "llava:7b", "messages": [{"role": "user", "content": "what is it?", '
    head += b'"images": ["'
    tail = b'"]}], "stream": false}'
    pieces = HUNDRED_MB // len(image)
    size = len(head) + pieces * len(image) + len(tail)

    async def body() -> AsyncIterator[bytes]:
        yield head
        for _ in range(pieces):
            yield image
        yield tail

    upstream = EchoUpstream()
    async with limited_proxy(upstream) as proxy, httpx.AsyncClient(timeout=120) as client:
        reply = await client.post(
            f"{proxy.url}/api/chat",
            content=body(),
            headers={"content-type": "application/json", "content-length": str(size)},
        )
    print(f"{size} bytes through the proxy: {reply.status_code} {reply.text}")
    assert reply.status_code == 200
    assert reply.json()["body_size"] == size
    assert proxy.app.counters["http_body_timeouts"] == 0


def rss_mib(pid: int) -> float:
    return psutil.Process(pid).memory_info().rss / 2**20


@pytest.mark.timeout(90)
async def test_huge_heads_neither_grow_the_probe_nor_flood_its_log(
    emulated: Emulated, clean_nats_url: str
) -> None:
    port = free_port()
    env = os.environ | {
        "OLLAMON_NATS_URL": clean_nats_url,
        "OLLAMON_OLLAMA_URL": emulated.url,
        "OLLAMON_PROXY_PORT": str(port),
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "ollamon_probe", env=env, stderr=asyncio.subprocess.PIPE
    )
    url = f"http://127.0.0.1:{port}"
    try:
        await wait_until_listening(port)
        before = await asyncio.to_thread(rss_mib, process.pid)
        endings = await asyncio.gather(*(huge_head(url, 40 * 1024 * 1024) for _ in range(4)))
        after = await asyncio.to_thread(rss_mib, process.pid)
        async with httpx.AsyncClient() as client:
            still = await client.get(f"{url}/api/version")
    finally:
        process.send_signal(signal.SIGTERM)
        stderr = await asyncio.wait_for(process.stderr.read(), 15) if process.stderr else b""
        await asyncio.wait_for(process.wait(), 15)
    refused = [line for line in stderr.decode().splitlines() if "refused" in line]
    print(
        f"4 heads of 40 MiB: {[(e.status, e.sent_bytes, e.reset) for e in endings]}; "
        f"probe RSS {before:.0f} -> {after:.0f} MiB; log lines {refused}"
    )
    assert all(ending.status in (431, None) for ending in endings)
    assert after - before < 32
    assert still.status_code == 200
    assert len(refused) == 2  # the first, and the summary of the other three at the stop
    assert "3 x request head too large" in refused[1]
