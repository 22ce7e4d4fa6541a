"""A short benchmark of the real llama.cpp-compatible server, through the OpenAI path: the
probe finds an OpenAI-compatible server, runs the generation cases through its proxy and
reports intervals; such a server cannot unload, so the cold load is not measured."""

from __future__ import annotations

from pathlib import Path

import pytest

from ollamon_core import subjects
from ollamon_core.events import BenchmarkCase, BenchmarkRequest, BenchmarkRun, ServiceName
from tests.conftest import BusFactory
from tests.services.probe.benchmark_probe import ask, probe_in_front_of
from tests.support.llama_cpp import MODEL_ALIAS, LlamaServer
from tests.support.waiting import wait_for

pytestmark = pytest.mark.timeout(60)


async def test_a_short_benchmark_of_the_real_server_goes_through_the_openai_path(
    tmp_path: Path, clean_nats_url: str, bus_factory: BusFactory, llama_server: LlamaServer
) -> None:
    bus = await bus_factory(ServiceName.GATEWAY)
    runs: list[BenchmarkRun] = []

    async def keep(run: BenchmarkRun, _msg: object) -> None:
        runs.append(run)

    await bus.subscribe(subjects.BENCHMARK_RUNS, keep)
    async with probe_in_front_of(clean_nats_url, tmp_path, llama_server.url):
        accepted = await ask(bus, BenchmarkRequest(repetitions=2, num_ctx=256, force=True))
        await wait_for(lambda: bool(runs), 30, "the run")
    [run] = runs
    assert (accepted.models, accepted.total_steps) == ([MODEL_ALIAS], 3 * 2)
    assert run.backend == "openai" and run.run_id == accepted.run_id
    [result] = run.models
    assert result.error is None and result.cold_load_ms is None
    assert [case.case for case in result.cases] == [
        BenchmarkCase.SHORT_CHAT,
        BenchmarkCase.LONG_PROMPT,
        BenchmarkCase.STREAMED,
    ]
    for case in result.cases:
        assert case.errors == 0, case
        assert case.eval_tokens_per_second is not None
        assert case.eval_tokens_per_second.samples == 2
        assert case.eval_tokens_per_second.low <= case.eval_tokens_per_second.mean
    streamed = result.cases[2]
    assert streamed.ttft_ms is not None and streamed.ttft_ms.mean > 0
