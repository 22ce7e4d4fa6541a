"""Done when (issue 20): requests made straight to Ollama (here the emulator, writing its
server log as Ollama does) appear once with source="log", the one made through the proxy
once, as the proxy's event: the probe follows the log and matches it against its own."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import ollama

from ollama_emulator.app import create_app
from ollama_emulator.config import fast_config
from ollama_emulator.server import serve_app
from ollama_emulator.server_log import ServerLog
from ollamon_cli.nats_server import free_port
from ollamon_core import subjects
from ollamon_core.events import OllamaModelMetrics, RequestSource, ServiceName
from ollamon_probe.service import running_probe
from ollamon_probe.settings import ProbeSettings
from tests.conftest import BusFactory
from tests.support.waiting import wait_for

GRACE_SECONDS = 0.5


async def test_direct_requests_appear_once_with_source_log_and_the_proxied_one_once(
    tmp_path: Path, clean_nats_url: str, bus_factory: BusFactory
) -> None:
    server_log = tmp_path / "server.log"
    listener = await bus_factory(ServiceName.GATEWAY)
    events: list[OllamaModelMetrics] = []

    async def keep(event: Any, _msg: object) -> None:
        events.append(event)

    await listener.subscribe(subjects.REQUESTS_ALL, keep)
    emulator = create_app(fast_config(), server_log=ServerLog(str(server_log)))
    async with serve_app(emulator) as ollama_url:
        settings = ProbeSettings(
            nats_url=clean_nats_url,
            ollama_urls=[ollama_url],
            proxy_port=free_port(),
            host_label="log-host",
            monitoring_interval_seconds=0.2,
            spool_path=tmp_path / "spool",
            ollama_log_path=str(server_log),
            ollama_log_grace_seconds=GRACE_SECONDS,
        )
        async with running_probe(settings) as runtime:
            direct = ollama.AsyncClient(host=ollama_url)
            proxied = ollama.AsyncClient(host=f"http://127.0.0.1:{settings.proxy_port}")
            await direct.generate("llama3.2:1b", "straight to Ollama")
            await proxied.generate("llama3.2:1b", "through the proxy")
            await direct.chat("llama3.2:1b", [{"role": "user", "content": "again, direct"}])
            await direct.list()  # not measured: no event from either source
            counters = runtime.bus.counters
            await wait_for(
                lambda: counters["log_requests_proxied"] + counters["log_requests_bypassing"] >= 3,
                timeout=10,
                message="the three measured log lines decided",
            )
            await wait_for(lambda: len(events) >= 3, timeout=5, message="three request events")
            assert (counters["log_requests_proxied"], counters["log_requests_bypassing"]) == (1, 2)

    by_source = sorted((e.source.value, e.endpoint) for e in events)
    assert by_source == [
        ("log", "/api/chat"),
        ("log", "/api/generate"),
        ("proxy", "/api/generate"),
    ]
    for event in events:
        if event.source is RequestSource.LOG:
            assert (event.client_address, event.status_code, event.host) == (
                "127.0.0.1",
                200,
                "log-host",
            )
            assert event.response_time_ms > 0
        else:
            assert event.model_name == "llama3.2:1b" and event.tokens_generated > 0
    written = await asyncio.to_thread(server_log.read_text)
    assert written.count("[GIN]") >= 4  # the emulator wrote every request, /api/tags too
