"""Issue 19's done-when for benchmarks: a simulated Ollama upgrade that slows eval by 20 % is
flagged against the previous version's run.

Storage, the probe and the gateway run in this process on the test's NATS; the emulator
answers as Ollama 0.12.3, a run is started over REST (`POST .../benchmarks`), then the
emulator is restarted on the same port as 0.12.6 with every model's eval 20 % slower
(`--ollama-version`, `--eval-speed 0.8` on its command line) and a second run is started.
`GET .../benchmarks` then ranks the model by the newer run and flags its eval at -20 %.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx

from ollama_emulator.app import create_app as create_emulator
from ollama_emulator.config import EmulatorConfig, ModelSpec
from ollama_emulator.server import serve_app
from ollamon_cli.nats_server import free_port
from ollamon_core.events import ServiceName
from ollamon_gateway.app import create_app as create_gateway
from ollamon_gateway.server import AppServer
from ollamon_gateway.settings import GatewaySettings
from ollamon_probe.service import running_probe
from ollamon_probe.settings import ProbeSettings
from ollamon_storage.service import running_storage
from tests.conftest import BusFactory
from tests.services.storage.conftest import make_settings as storage_settings
from tests.services.storage.conftest import wait_for_ready
from tests.support.waiting import wait_for_async

MODEL = "llama3.2:1b"
HOST = "gpu-a"
BENCHMARKS = "/api/ai/ollama/performance/benchmarks"
RUN_TIMEOUT_SECONDS = 20.0


def ollama(version: str, eval_speed: float = 1.0) -> EmulatorConfig:
    """One small chat model, as `python -m ollama_emulator --ollama-version ... --eval-speed`."""
    config = EmulatorConfig(
        version=version,
        models=[ModelSpec(name=MODEL, tokens_per_second=400.0, load_time_ms=40.0)],
    )
    return config if eval_speed == 1.0 else config.with_eval_speed(eval_speed)


@contextlib.asynccontextmanager
async def gateway(nats_url: str, bus_factory: BusFactory) -> AsyncIterator[httpx.AsyncClient]:
    """The gateway app served on loopback, and a client of it."""
    settings = GatewaySettings.model_validate(
        {"nats_url": nats_url, "host_label": "hub", "gateway_port": free_port()}
    )
    bus = await bus_factory(ServiceName.GATEWAY)
    app = await asyncio.to_thread(create_gateway, settings, bus)  # it reads the static folder
    server = AppServer(app, settings.gateway_host, settings.gateway_port, log_level="warning")
    await server.start()
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
            yield client
    finally:
        await server.stop()


async def run_benchmark(client: httpx.AsyncClient) -> dict[str, Any]:
    """Start a run over REST and wait until storage lists it; the benchmarks answer then."""
    body = {"models": [MODEL], "cases": ["streamed"], "repetitions": 3}
    response = await client.post(BENCHMARKS, json=body)
    assert response.status_code == 202, response.text
    run_id = response.json()["run_id"]

    async def stored() -> dict[str, Any] | None:
        answer: dict[str, Any] = (await client.get(BENCHMARKS)).json()
        runs = answer.get("runs")
        listed = isinstance(runs, list) and any(run["run_id"] == run_id for run in runs)
        return answer if listed else None

    answer = await wait_for_async(stored, RUN_TIMEOUT_SECONDS, f"run {run_id} stored")
    assert isinstance(answer, dict)
    return answer


async def test_an_upgrade_that_slows_eval_by_a_fifth_is_flagged_against_the_previous_version(
    clean_nats_url: str, bus_factory: BusFactory, tmp_path: Path
) -> None:
    storage = storage_settings(tmp_path / "data", clean_nats_url)
    ollama_port = free_port()
    probe = ProbeSettings.model_validate(
        {
            "nats_url": clean_nats_url,
            "ollama_urls": [f"http://127.0.0.1:{ollama_port}"],
            "proxy_port": free_port(),
            "host_label": HOST,
            "monitoring_interval_seconds": 0.5,
            "spool_path": tmp_path / "spool",
        }
    )
    async with (
        running_storage(storage),
        gateway(clean_nats_url, bus_factory) as client,
        contextlib.AsyncExitStack() as first_ollama,
    ):
        await wait_for_ready(storage)
        await first_ollama.enter_async_context(
            serve_app(create_emulator(ollama("0.12.3")), port=ollama_port)
        )
        async with running_probe(probe):
            before = await run_benchmark(client)
            # Ollama is upgraded under the running probe: same address, a new server.
            await first_ollama.aclose()
            async with serve_app(
                create_emulator(ollama("0.12.6", eval_speed=0.8)), port=ollama_port
            ):
                after = await run_benchmark(client)

    (first,) = before["ranking"]
    assert (first["model"], first["host"], first["server_version"]) == (MODEL, HOST, "0.12.3")
    assert before["comparisons"] == []
    (latest,) = after["ranking"]
    assert latest["server_version"] == "0.12.6"
    assert latest["eval_tokens_per_second"]["samples"] == 3
    flagged = {item["metric"]: item for item in after["comparisons"] if item["flagged"]}
    # Eval is flagged; TTFT (a few milliseconds here) may move with the machine's load too.
    eval_change = flagged["eval_tokens_per_second"]
    assert eval_change["worse"] is True
    assert -22.0 < eval_change["change_percent"] < -18.0
    assert eval_change["message"] == f"0.12.3 -> 0.12.6: {MODEL} eval -20 % on {HOST}"
