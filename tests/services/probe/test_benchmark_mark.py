"""The benchmark's mark: `X-Ollamon-Benchmark` names the run on the request event, never
reaches the server, and only a run id marks anything; the tap tells real traffic apart."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from ollamon_core.events import OllamaModelMetrics
from ollamon_probe.benchmark_tap import BenchmarkTap
from tests.services.probe.echo_upstream import EchoUpstream
from tests.services.probe.sinks import FrontedProxy, proxy_in_front_of
from tests.support.waiting import wait_for

EchoProxy = FrontedProxy[EchoUpstream]


@pytest.fixture
async def echo_proxy() -> AsyncIterator[EchoProxy]:
    async with proxy_in_front_of(EchoUpstream()) as proxy:
        yield proxy


async def _chat(proxy: EchoProxy, headers: dict[str, str]) -> OllamaModelMetrics:
    before = len(proxy.sink.events)
    async with httpx.AsyncClient(base_url=proxy.url) as http:
        reply = await http.post("/api/chat", json={"model": "m"}, headers=headers)
    assert reply.status_code == 200
    await wait_for(lambda: len(proxy.sink.events) > before, 5, "the request event")
    event = proxy.sink.events[-1]
    assert isinstance(event, OllamaModelMetrics)
    return event


@pytest.mark.parametrize(
    ("value", "marked"),
    [("run-1_ab", "run-1_ab"), ("not a run id!", None), ("x" * 65, None)],
)
async def test_the_mark_names_the_run_and_never_reaches_the_server(
    echo_proxy: EchoProxy, value: str, marked: str | None
) -> None:
    event = await _chat(echo_proxy, {"X-Ollamon-Benchmark": value})
    assert event.benchmark_run_id == marked
    assert echo_proxy.upstream.header(0, b"x-ollamon-benchmark") == []


async def test_an_unmarked_request_is_real_traffic_for_the_quiet_period(
    echo_proxy: EchoProxy,
) -> None:
    now = [1000.0]
    tap = BenchmarkTap(echo_proxy.app.sink, echo_proxy.app, clock=lambda: now[0])
    echo_proxy.app.sink = tap
    tap.follow("run-1")
    assert tap.real_traffic(30) is None
    await _chat(echo_proxy, {"X-Ollamon-Benchmark": "run-1"})
    assert tap.real_traffic(30) is None  # the benchmark's own request
    assert (await tap.next_event(1)) is not None  # handed to the runner
    await _chat(echo_proxy, {})
    assert "went through the proxy 0 s ago" in (tap.real_traffic(30) or "")
    now[0] += 31
    assert tap.real_traffic(30) is None
