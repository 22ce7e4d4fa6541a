"""A fleet's probes on one NATS: a benchmark naming a host is run by that host's probe alone
(its own route, `ollamon.control.benchmark.<host>`); a request naming another host on the
shared route is refused, not run on the wrong host."""

from __future__ import annotations

import json
from pathlib import Path

from ollamon_core import subjects
from ollamon_core.bus.wire import ERROR_HEADER, encode
from ollamon_core.events import BenchmarkCase, BenchmarkRequest, ServiceName
from tests.conftest import BusFactory
from tests.services.probe.benchmark_probe import ask, benchmark_probe, raw_request
from tests.services.probe.test_benchmark_runner import Seen

# Any probe would take about half of them: all four on B is 1 in 16 without the routing.
RUNS_ASKED = 4


async def test_a_run_naming_a_host_is_run_by_that_host_s_probe_alone(
    tmp_path: Path, clean_nats_url: str, bus_factory: BusFactory
) -> None:
    bus = await bus_factory(ServiceName.GATEWAY)
    seen = Seen()
    for subject in (subjects.BENCHMARK_RUNS, subjects.BENCHMARK_PROGRESS):
        await bus.subscribe(subject, seen.keep)
    await bus.nc.flush()
    request = BenchmarkRequest(
        models=["swift:1b"],
        cases=[BenchmarkCase.SHORT_CHAT],
        repetitions=1,
        cold=False,
        force=True,
        host="gpu-b",
    )
    async with (
        benchmark_probe(clean_nats_url, tmp_path / "a", host_label="gpu-a"),
        benchmark_probe(clean_nats_url, tmp_path / "b", host_label="gpu-b"),
    ):
        run_ids = []
        for _ in range(RUNS_ASKED):
            accepted = await ask(bus, request)
            run_ids.append((await seen.run(accepted.run_id)).run_id)
        # On the shared route, a request naming a host no probe here has is refused.
        elsewhere = request.model_copy(update={"host": "gpu-c"})
        reply = await raw_request(bus.nc, encode(elsewhere))
    assert reply.headers and reply.headers.get(ERROR_HEADER)
    error = json.loads(reply.data)
    assert error["status_code"] == 400
    assert error["error"].startswith("bad_request: this probe benchmarks host 'gpu-")
    assert "not 'gpu-c'" in error["error"]
    assert [run.host for run in seen.runs if run.run_id in run_ids] == ["gpu-b"] * RUNS_ASKED
    assert {step.host for step in seen.progress if step.run_id in run_ids} == {"gpu-b"}
