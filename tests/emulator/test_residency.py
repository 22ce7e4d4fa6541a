"""Models load on first use, expire after keep_alive, and the oldest is evicted when full."""

from __future__ import annotations

import asyncio

import ollama
import pytest

from ollama_emulator.app import create_app
from ollama_emulator.config import EmulatorConfig, ModelSpec
from ollama_emulator.residency import keep_alive_seconds
from ollama_emulator.server import serve_app


class FakeClock:
    """Wall-clock seconds the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


def three_models(max_loaded: int = 2) -> EmulatorConfig:
    return EmulatorConfig(
        max_loaded_models=max_loaded,
        keep_alive_seconds=300,
        models=[ModelSpec(name=f"m{index}:latest", load_time_ms=2) for index in range(3)],
    )


@pytest.mark.parametrize(
    ("value", "seconds"),
    [(None, 300.0), ("5m", 300.0), ("30s", 30.0), (10, 10.0), ("1h", 3600.0), (0, 0.0)],
)
def test_keep_alive_reads_numbers_and_go_durations(value: object, seconds: float) -> None:
    assert keep_alive_seconds(value, 300.0) == seconds


def test_a_negative_keep_alive_keeps_the_model_forever() -> None:
    assert keep_alive_seconds("-1m", 300.0) == float("inf")


def test_a_malformed_keep_alive_is_rejected() -> None:
    with pytest.raises(ValueError, match="invalid duration"):
        keep_alive_seconds("soon", 300.0)


async def test_load_duration_is_reported_once_then_zero_while_loaded() -> None:
    async with serve_app(create_app(three_models())) as url:
        client = ollama.AsyncClient(host=url)
        first = await client.generate("m0", "x")
        second = await client.generate("m0", "x")
    assert first.load_duration == 2_000_000
    assert second.load_duration == 0


async def test_a_resident_model_waiting_behind_another_models_load_reports_the_wait() -> None:
    config = EmulatorConfig(
        models=[
            ModelSpec(name="warm:latest", load_time_ms=2),
            ModelSpec(name="slow:latest", load_time_ms=400),
        ]
    )
    async with serve_app(create_app(config)) as url:
        client = ollama.AsyncClient(host=url)
        await client.generate("warm", "x")  # resident from here on
        loading = asyncio.create_task(client.generate("slow", "x"))
        while not any(model.model == "slow:latest" for model in (await client.ps()).models):
            await asyncio.sleep(0.005)
        queued = await client.generate("warm", "x")
        cold = await loading
    assert (queued.load_duration or 0) > 200_000_000  # Ollama's scheduler queue, not a load
    assert (cold.load_duration or 0) >= 400_000_000


async def test_models_expire_after_keep_alive() -> None:
    clock = FakeClock()
    async with serve_app(create_app(three_models(), clock)) as url:
        client = ollama.AsyncClient(host=url)
        await client.generate("m0", "x", keep_alive="10s")
        await client.generate("m1", "x")
        clock.now += 11
        names = [model.model for model in (await client.ps()).models]
        again = await client.generate("m0", "x")
    assert names == ["m1:latest"]
    assert again.load_duration == 2_000_000


async def test_the_oldest_model_is_evicted_when_the_limit_is_reached() -> None:
    clock = FakeClock()
    async with serve_app(create_app(three_models(max_loaded=2), clock)) as url:
        client = ollama.AsyncClient(host=url)
        for name in ("m0", "m1", "m2"):
            clock.now += 1
            await client.generate(name, "x")
        names = [model.model for model in (await client.ps()).models]
    assert names == ["m2:latest", "m1:latest"]


async def test_an_empty_prompt_loads_and_keep_alive_zero_unloads() -> None:
    async with serve_app(create_app(three_models())) as url:
        client = ollama.AsyncClient(host=url)
        loaded = await client.generate("m0", "")
        after_load = [model.model for model in (await client.ps()).models]
        unloaded = await client.generate("m0", "", keep_alive=0)
        after_unload = (await client.ps()).models
    assert (loaded.done_reason, after_load) == ("load", ["m0:latest"])
    assert (unloaded.done_reason, after_unload) == ("unload", [])
