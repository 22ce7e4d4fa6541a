"""The probe's benchmark over NATS, against the emulator: it ranks the models by their warm
eval speed, measures the cold load, and refuses what it must (never crashing on bad input)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from ollamon_core import subjects
from ollamon_core.bus import Bus
from ollamon_core.bus.requests import QueryFailedError
from ollamon_core.bus.wire import ERROR_HEADER
from ollamon_core.events import (
    BenchmarkCase,
    BenchmarkProgress,
    BenchmarkRequest,
    BenchmarkRun,
    BenchmarkState,
    OllamaModelMetrics,
    ServiceName,
)
from ollamon_core.insights.benchmark_comparison import ranking
from tests.conftest import BusFactory
from tests.services.probe.benchmark_probe import HOST, ask, benchmark_probe, raw_request
from tests.support.waiting import wait_for


class Seen:
    """What a gateway-like listener got of the benchmark subjects and the requests."""

    def __init__(self) -> None:
        self.runs: list[BenchmarkRun] = []
        self.progress: list[BenchmarkProgress] = []
        self.requests: list[OllamaModelMetrics] = []

    async def keep(self, event: Any, _msg: object) -> None:
        match event:
            case BenchmarkRun():
                self.runs.append(event)
            case BenchmarkProgress():
                self.progress.append(event)
            case OllamaModelMetrics():
                self.requests.append(event)

    async def run(self, run_id: str, timeout: float = 30) -> BenchmarkRun:
        await wait_for(lambda: any(r.run_id == run_id for r in self.runs), timeout, "the run")
        return next(run for run in self.runs if run.run_id == run_id)


async def _listener(bus_factory: BusFactory) -> tuple[Bus, Seen]:
    bus = await bus_factory(ServiceName.GATEWAY)
    seen = Seen()
    for subject in (subjects.BENCHMARK_RUNS, subjects.BENCHMARK_PROGRESS, subjects.REQUESTS_ALL):
        await bus.subscribe(subject, seen.keep)
    await bus.nc.flush()
    return bus, seen


async def test_a_benchmark_ranks_the_emulators_models_by_warm_eval_speed(
    tmp_path: Path, clean_nats_url: str, bus_factory: BusFactory
) -> None:
    bus, seen = await _listener(bus_factory)
    async with benchmark_probe(clean_nats_url, tmp_path):
        accepted = await ask(bus, BenchmarkRequest(repetitions=2))
        run = await seen.run(accepted.run_id)
    assert sorted(accepted.models) == ["embed-mini:latest", "steady:7b", "swift:1b"]
    # Each chat model: its cold request, then 3 cases twice; the embedding model: 1 + 2.
    assert accepted.total_steps == 7 + 7 + 3
    assert (run.host, run.backend, run.server_version, run.suite_version) == (
        HOST,
        "ollama",
        "0.12.6",
        "1",
    )
    assert [row.model for row in ranking([run])] == ["swift:1b", "steady:7b", "embed-mini:latest"]
    by_model = {result.model: result for result in run.models}
    swift, steady, embed = (
        by_model["swift:1b"],
        by_model["steady:7b"],
        by_model["embed-mini:latest"],
    )
    assert [case.case for case in swift.cases] == [
        BenchmarkCase.SHORT_CHAT,
        BenchmarkCase.LONG_PROMPT,
        BenchmarkCase.STREAMED,
    ]
    assert [case.case for case in embed.cases] == [BenchmarkCase.EMBEDDINGS]
    streamed = {r.model: next(c for c in r.cases if c.case == "streamed") for r in (swift, steady)}
    for model, speed in (("swift:1b", 900.0), ("steady:7b", 300.0)):
        interval = streamed[model].eval_tokens_per_second
        assert interval is not None and interval.samples == 2
        assert interval.mean == pytest.approx(speed, rel=0.05)
        assert streamed[model].ttft_ms is not None and streamed[model].errors == 0
    # The cold load is the emulator's load time; where each model sits in memory.
    assert swift.cold_load_ms is not None and swift.cold_load_ms >= 60
    assert steady.cold_load_ms is not None and steady.cold_load_ms >= 120
    assert embed.cold_load_ms is not None and embed.cold_load_ms >= 20  # unloaded by /api/embed
    assert (swift.fits_in_vram, steady.fits_in_vram) == (True, False)
    assert (steady.size_bytes, steady.size_vram_bytes) == (6_000_000_000, 4_000_000_000)
    assert (steady.quantization, steady.parameter_size) == ("Q4_K_M", "7.6B")
    assert steady.digest
    # Progress counted every step and ended done; every request event names the run.
    final = [p for p in seen.progress if p.run_id == run.run_id][-1]
    assert (final.state, final.step, final.total_steps) == (BenchmarkState.DONE, 17, 17)
    marked = [event for event in seen.requests if event.benchmark_run_id == run.run_id]
    assert len(marked) == 17


async def test_a_benchmark_waits_for_quiet_unless_forced_and_runs_one_at_a_time(
    tmp_path: Path, clean_nats_url: str, bus_factory: BusFactory
) -> None:
    bus, seen = await _listener(bus_factory)
    async with benchmark_probe(clean_nats_url, tmp_path) as settings:
        proxy = f"http://127.0.0.1:{settings.proxy_port}"
        real_request = {"model": "swift:1b", "prompt": "hi", "stream": False}
        async with httpx.AsyncClient(base_url=proxy) as http:
            assert (await http.post("/api/generate", json=real_request)).status_code == 200
            one_model = BenchmarkRequest(models=["swift:1b"], repetitions=3)
            with pytest.raises(QueryFailedError) as refused:
                await ask(bus, one_model)
            assert refused.value.error.status_code == 409
            assert refused.value.error.error.startswith("busy: real traffic: a request went")
            forced = one_model.model_copy(update={"force": True})
            accepted = await ask(bus, forced)
            assert accepted.models == ["swift:1b"]
            with pytest.raises(QueryFailedError) as again:
                await ask(bus, forced)
            assert again.value.error.status_code == 409
            assert "going on" in again.value.error.error
            # Real traffic while it runs: the run ends with a warning.
            assert (await http.post("/api/generate", json=real_request)).status_code == 200
        run = await seen.run(accepted.run_id)
    assert run.forced and [r.model for r in run.models] == ["swift:1b"]
    final = [p for p in seen.progress if p.run_id == run.run_id][-1]
    assert final.state == BenchmarkState.DONE
    assert "real traffic went through the proxy during the run" in final.message


@pytest.mark.parametrize(
    ("body", "status", "says"),
    [
        (b'{"repetitions": 0}', 400, "repetitions"),
        (b'{"num_ctx": 1000000}', 400, "num_ctx"),
        (b'{"models": ["' + b"m" * 300 + b'"]}', 400, "models"),
        (b"not json", 400, ""),
        (json.dumps({"models": ["absent:1b"], "force": True}).encode(), 400, "no_models"),
    ],
)
async def test_a_bad_benchmark_request_gets_an_error_reply_and_the_probe_keeps_answering(
    tmp_path: Path,
    clean_nats_url: str,
    bus_factory: BusFactory,
    body: bytes,
    status: int,
    says: str,
) -> None:
    bus, seen = await _listener(bus_factory)
    async with benchmark_probe(clean_nats_url, tmp_path):
        reply = await raw_request(bus.nc, body)
        assert reply.headers and reply.headers.get(ERROR_HEADER)
        error = json.loads(reply.data)
        assert error["status_code"] == status and says in error["error"]
        # Still answering; a warm-only run skips the unload and the cold request.
        request = BenchmarkRequest(models=["embed-mini"], repetitions=1, force=True, cold=False)
        accepted = await ask(bus, request)
        assert accepted.total_steps == 1
        run = await seen.run(accepted.run_id)
    [result] = run.models
    assert result.cold_load_ms is None and [c.case for c in result.cases] == ["embeddings"]
