"""One benchmark run: the suite through the probe's own proxy, model by model.

For each model (docs/decisions/0023-benchmark-runner.md): on Ollama with `cold`, unload it
(`keep_alive: 0`, straight to the server) and wait until `/api/ps` no longer lists it, then
send its first case once: that request's `load_duration` is the cold load, and it is not
counted with the warm ones. Then each case `repetitions` times, one request at a time, each
marked `X-Ollamon-Benchmark: <run id>`. The figures are the proxy's own request events
(tokens/s, prompt tokens/s, time to first token, latency), which the tap hands over, so
a benchmark is measured exactly like real traffic; each case is summarised as means with
95 % Student t intervals (`ollamon_core.insights.student_t`). Last, `/api/ps` gives the
model's size and VRAM share. A model that fails (unload, server gone) keeps its error and
the run goes on.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx

from ollamon_core.events import (
    BenchmarkCase,
    BenchmarkCaseResult,
    BenchmarkModelResult,
    BenchmarkProgress,
    BenchmarkRequest,
    BenchmarkRun,
    Interval,
    OllamaModelMetrics,
    utc_now,
)
from ollamon_core.events.benchmarks import BENCHMARK_HEADER, SUITE_VERSION
from ollamon_core.insights.student_t import t_interval
from ollamon_core.redaction import redact_text
from ollamon_probe.benchmark_server import ModelFacts, ServerFacts, loaded, unload
from ollamon_probe.benchmark_suite import case_request
from ollamon_probe.benchmark_tap import BenchmarkTap

log = logging.getLogger(__name__)

# How long the proxy's event of a request may take to reach the tap after the reply.
EVENT_WAIT_SECONDS = 10.0
MAX_ERROR_CHARS = 500


@dataclass(frozen=True)
class ModelPlan:
    """One model of a run and the cases it gets."""

    facts: ModelFacts
    cases: list[BenchmarkCase]


@dataclass(frozen=True)
class RunPlan:
    """What a run will do."""

    run_id: str
    request: BenchmarkRequest
    server: ServerFacts
    models: list[ModelPlan]

    @property
    def cold(self) -> bool:
        """True when the cold load is measured (asked, and the server can unload)."""
        return self.request.cold and not self.server.openai

    def steps_of(self, model: ModelPlan) -> int:
        """The steps of one model: the cold request, then every warm one."""
        if not model.cases:
            return 0
        return int(self.cold) + len(model.cases) * self.request.repetitions

    @property
    def total_steps(self) -> int:
        """Every step of the run."""
        return sum(self.steps_of(model) for model in self.models)


@dataclass(frozen=True)
class RunContext:
    """Where a run sends its requests and what it reports to."""

    proxy_url: str
    upstream_url: str
    shown_url: str
    host: str
    http: httpx.AsyncClient  # straight to the server: facts and unloads
    tap: BenchmarkTap
    publish: Callable[[BenchmarkProgress], Awaitable[None]]
    gpu_name: Callable[[], str | None]
    request_timeout_seconds: float


@dataclass(frozen=True)
class Sample:
    """One request of a case: the proxy's event, and the latency the runner saw."""

    latency_ms: float
    event: OllamaModelMetrics | None
    failed: bool


def case_result(case: BenchmarkCase, samples: list[Sample]) -> BenchmarkCaseResult:
    """The intervals of one case's warm samples (failed ones count in the latency only)."""
    good = [sample.event for sample in samples if sample.event is not None and not sample.failed]
    latencies = [
        sample.event.response_time_ms if sample.event is not None else sample.latency_ms
        for sample in samples
    ]
    latency = t_interval(latencies, lowest=0.0) or Interval(mean=0.0, low=0.0, high=0.0, samples=1)
    return BenchmarkCaseResult(
        case=case,
        eval_tokens_per_second=t_interval(
            [event.tokens_per_second for event in good if event.tokens_per_second], lowest=0.0
        ),
        prompt_tokens_per_second=t_interval(
            [event.prompt_tokens_per_second for event in good if event.prompt_tokens_per_second],
            lowest=0.0,
        ),
        ttft_ms=t_interval(
            [
                event.time_to_first_token_ms
                for event in good
                if event.time_to_first_token_ms is not None
            ],
            lowest=0.0,
        ),
        latency_ms=latency,
        errors=sum(sample.failed for sample in samples),
    )


class Runner:
    """Runs one plan; `run()` returns the finished `BenchmarkRun`."""

    def __init__(self, plan: RunPlan, context: RunContext) -> None:
        self.plan = plan
        self.context = context
        self.step = 0

    async def run(self) -> BenchmarkRun:
        """Every model in turn; progress after each step."""
        started = utc_now()
        tap = self.context.tap
        tap.follow(self.plan.run_id)
        await self.progress(None, None, "starting")
        try:
            async with httpx.AsyncClient(
                base_url=self.context.proxy_url,
                timeout=self.context.request_timeout_seconds,
                headers={BENCHMARK_HEADER: self.plan.run_id},
                trust_env=False,
            ) as client:
                results = [await self._model(client, model) for model in self.plan.models]
        finally:
            tap.follow(None)
        request = self.plan.request
        return BenchmarkRun(
            host=self.context.host,
            run_id=self.plan.run_id,
            suite_version=SUITE_VERSION,
            backend=self.plan.server.backend,
            ollama_url=self.context.shown_url,
            server_version=self.plan.server.version,
            gpu_name=self.context.gpu_name(),
            started_at=started,
            finished_at=utc_now(),
            repetitions=request.repetitions,
            num_ctx=request.num_ctx,
            forced=request.force,
            requested_by=request.requested_by,
            models=results,
        )

    async def progress(self, model: str | None, case: str | None, message: str) -> None:
        """Say where the run stands (step `self.step` of the total)."""
        await self.context.publish(
            BenchmarkProgress(
                host=self.context.host,
                run_id=self.plan.run_id,
                model=model,
                case=case,
                step=self.step,
                total_steps=self.plan.total_steps,
                message=message[:MAX_ERROR_CHARS],
            )
        )

    async def _model(self, client: httpx.AsyncClient, model: ModelPlan) -> BenchmarkModelResult:
        facts = model.facts
        described = {
            "model": facts.name,
            "digest": facts.digest,
            "quantization": facts.quantization,
            "parameter_size": facts.parameter_size,
            "size_bytes": facts.size_bytes,
        }
        if not model.cases:
            return BenchmarkModelResult(**described, error="no case of the suite applies")
        end_step = self.step + self.plan.steps_of(model)
        try:
            cold_ms = await self._cold(client, model) if self.plan.cold else None
            cases = [await self._case(client, facts.name, case) for case in model.cases]
            footprint = await self._footprint(facts.name)
        except (httpx.HTTPError, TimeoutError, ValueError) as error:
            reason = redact_text(f"{type(error).__name__}: {error}")[:MAX_ERROR_CHARS]
            log.warning("benchmark of %s failed: %s", facts.name, reason)
            self.step = end_step
            await self.progress(facts.name, None, f"failed: {reason}")
            return BenchmarkModelResult(**described, error=reason)
        size, vram = footprint
        if size is not None:
            described["size_bytes"] = size
        return BenchmarkModelResult(
            **described,
            size_vram_bytes=vram,
            fits_in_vram=None if size is None or vram is None else vram >= size,
            cold_load_ms=cold_ms,
            cases=cases,
        )

    async def _cold(self, client: httpx.AsyncClient, model: ModelPlan) -> float | None:
        await unload(self.context.http, self.context.upstream_url, model.facts)
        sample = await self.send(client, model.facts.name, model.cases[0])
        self.step += 1
        cold_ms = (
            sample.event.load_duration_ms
            if sample.event is not None and not sample.failed
            else None
        )
        shown = f"{cold_ms:.0f} ms" if cold_ms is not None else "not measured"
        await self.progress(model.facts.name, "cold", f"cold load {shown}")
        return cold_ms

    async def _case(
        self, client: httpx.AsyncClient, name: str, case: BenchmarkCase
    ) -> BenchmarkCaseResult:
        samples = []
        repetitions = self.plan.request.repetitions
        for repetition in range(1, repetitions + 1):
            samples.append(await self.send(client, name, case))
            self.step += 1
            await self.progress(name, case.value, f"{name} {case.value} {repetition}/{repetitions}")
        return case_result(case, samples)

    async def _footprint(self, name: str) -> tuple[int | None, int | None]:
        if self.plan.server.openai:
            return None, None
        model = await loaded(self.context.http, self.context.upstream_url, name)
        if model is None or not model.size_bytes:
            return None, None
        return model.size_bytes, model.size_vram_bytes

    async def send(self, client: httpx.AsyncClient, name: str, case: BenchmarkCase) -> Sample:
        """One request of `case` through the proxy, with the proxy's event of it."""
        request = case_request(
            case, name, self.plan.request.num_ctx, openai=self.plan.server.openai
        )
        tap = self.context.tap
        tap.drain()
        started = time.perf_counter()
        status = 0
        try:
            async with client.stream("POST", request.path, json=request.body) as reply:
                async for _ in reply.aiter_raw():
                    pass
                status = reply.status_code
        except httpx.HTTPError as error:
            log.info("benchmark request to %s failed: %r", name, error)
        latency_ms = (time.perf_counter() - started) * 1000.0
        event = await tap.next_event(EVENT_WAIT_SECONDS) if status else None
        failed = event is None or event.error_occurred or status >= 400
        return Sample(latency_ms, event, failed)
