"""The disconnect watch: a task only for exchanges that outlast its delay."""

from __future__ import annotations

import asyncio
from collections.abc import MutableMapping
from typing import Any

from ollamon_probe.client_side import DisconnectWatch
from tests.support.waiting import wait_for


class Client:
    """An ASGI `receive` whose client leaves when told to."""

    def __init__(self) -> None:
        self.calls = 0
        self.left = asyncio.Event()

    async def receive(self) -> MutableMapping[str, Any]:
        self.calls += 1
        await self.left.wait()
        return {"type": "http.disconnect"}


async def test_an_exchange_over_before_the_delay_never_reads_receive_nor_starts_a_task() -> None:
    client = Client()
    watch = DisconnectWatch(asyncio.current_task())
    watch.start(client.receive, after_seconds=0.05)
    await asyncio.sleep(0)
    watch.stop()
    await asyncio.sleep(0.1)
    assert watch.started
    assert watch.watcher is None
    assert watch.timer is None
    assert client.calls == 0


async def test_a_client_leaving_after_the_delay_cancels_the_exchange() -> None:
    client = Client()
    exchange = asyncio.create_task(asyncio.sleep(10))
    watch = DisconnectWatch(exchange)
    watch.start(client.receive, after_seconds=0.02)
    await wait_for(lambda: client.calls == 1, message="the watch reading receive")
    client.left.set()
    await wait_for(exchange.cancelled, message="the exchange cancelled")
    assert watch.gone


async def test_a_client_leaving_within_the_delay_is_seen_when_the_watch_begins() -> None:
    client = Client()
    client.left.set()
    exchange = asyncio.create_task(asyncio.sleep(10))
    watch = DisconnectWatch(exchange)
    watch.start(client.receive, after_seconds=0.02)
    await wait_for(exchange.cancelled, message="the exchange cancelled")
    assert watch.gone
