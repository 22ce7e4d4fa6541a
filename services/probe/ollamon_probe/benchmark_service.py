"""The probe's answer to `ollamon.control.benchmark`: check, plan, start, reply at once.

A request is refused (the request helpers' error reply, `QueryError`) with `busy` (409)
while a run is going or, unless forced, while real traffic is in flight through the proxy
or went through it in the last `benchmark_quiet_seconds`; with `no_models` (400) when the
server serves none of the models asked (or none at all); with 503 when the server does not
answer; with `bad_request` (400) when it names another host than this probe's (it came on
the shared route: a host's requests go to its own, `subjects.benchmark_route`). Otherwise
the run starts in the background and the reply says its id, its models and its steps;
progress follows on `ollamon.benchmarks.progress` and the finished run on
`ollamon.benchmarks.runs` (JetStream: storage keeps it).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from urllib.parse import urlsplit, urlunsplit

import httpx

from ollamon_core.bus.requests import QueryFailedError
from ollamon_core.events import (
    BenchmarkAccepted,
    BenchmarkProgress,
    BenchmarkRequest,
    BenchmarkRun,
    BenchmarkState,
    new_event_id,
)
from ollamon_core.events.benchmarks import (
    REFUSAL_STATUS,
    REFUSED_BAD_REQUEST,
    REFUSED_BUSY,
    REFUSED_NO_MODELS,
)
from ollamon_core.events.queries import QueryError
from ollamon_core.redaction import redact_text
from ollamon_probe.backends import NotThisKindError, ServerError
from ollamon_probe.benchmark_runner import ModelPlan, RunContext, Runner, RunPlan
from ollamon_probe.benchmark_server import ServerFacts, describe_server, find_model
from ollamon_probe.benchmark_suite import cases_for

log = logging.getLogger(__name__)

UNAVAILABLE_STATUS = 503


def refusal(code: str, reason: str) -> QueryFailedError:
    """The error reply of a refused run: `<code>: <reason>` with the code's status."""
    return QueryFailedError(QueryError(error=f"{code}: {reason}", status_code=REFUSAL_STATUS[code]))


def loopback_url(url: str) -> str:
    """The proxy's URL as the probe itself reaches it (a wildcard bind is reached on
    loopback)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if host in ("0.0.0.0", "", "::"):
        loop = "127.0.0.1" if host != "::" else "[::1]"
        return urlunsplit(parts._replace(netloc=f"{loop}:{parts.port}"))
    return url


def plan_models(request: BenchmarkRequest, server: ServerFacts) -> list[ModelPlan]:
    """The models of a run with their cases: those asked (all served when none).

    Raises:
        QueryFailedError: `no_models` when the server serves none, or not one asked.
    """
    if not server.models:
        raise refusal(REFUSED_NO_MODELS, "the server lists no model")
    if request.models:
        found = {name: find_model(server, name) for name in dict.fromkeys(request.models)}
        missing = [name for name, model in found.items() if model is None]
        if missing:
            raise refusal(REFUSED_NO_MODELS, "the server does not serve " + ", ".join(missing))
        chosen = [model for model in found.values() if model is not None]
    else:
        chosen = server.models
    return [
        ModelPlan(
            model,
            cases_for(
                request.cases,
                None if model.capabilities is None else list(model.capabilities),
                openai=server.openai,
            ),
        )
        for model in chosen
    ]


class BenchmarkService:
    """Answers benchmark requests; runs one benchmark at a time in the background."""

    def __init__(
        self,
        context: RunContext,
        *,
        quiet_seconds: float,
        emit: Callable[[BenchmarkRun], bool],
    ) -> None:
        self.context = context
        self.quiet_seconds = quiet_seconds
        self.emit = emit
        self.task: asyncio.Task[None] | None = None
        self.last_run: BenchmarkRun | None = None

    async def handle(self, request: BenchmarkRequest) -> BenchmarkAccepted:
        """Start a run, or refuse it (`QueryFailedError`)."""
        if request.host is not None and request.host != self.context.host:
            raise refusal(
                REFUSED_BAD_REQUEST,
                f"this probe benchmarks host {self.context.host!r}, not {request.host!r}",
            )
        if self.task is not None and not self.task.done():
            raise refusal(REFUSED_BUSY, "a benchmark run is going on")
        if not request.force:
            traffic = self.context.tap.real_traffic(self.quiet_seconds)
            if traffic is not None:
                raise refusal(REFUSED_BUSY, f"real traffic: {traffic}; force to run anyway")
        try:
            server = await describe_server(self.context.http, self.context.upstream_url)
        except (httpx.HTTPError, ValueError, NotThisKindError, ServerError) as error:
            reason = redact_text(f"{type(error).__name__}: {error}")[:300]
            raise QueryFailedError(
                QueryError(
                    error=f"the server at {self.context.shown_url} did not answer: {reason}",
                    status_code=UNAVAILABLE_STATUS,
                )
            ) from None
        plan = RunPlan(new_event_id(), request, server, plan_models(request, server))
        self.task = asyncio.create_task(self._run(plan), name=f"benchmark {plan.run_id}")
        log.info(
            "benchmark %s: %d model(s), %d steps",
            plan.run_id,
            len(plan.models),
            plan.total_steps,
        )
        return BenchmarkAccepted(
            run_id=plan.run_id,
            models=[model.facts.name for model in plan.models],
            total_steps=plan.total_steps,
        )

    async def _run(self, plan: RunPlan) -> None:
        runner = Runner(plan, self.context)
        tap = self.context.tap
        started = tap.clock()
        try:
            run = await runner.run()
        except Exception as error:
            log.exception("benchmark %s failed", plan.run_id)
            await self._final(plan, runner.step, BenchmarkState.FAILED, type(error).__name__)
            return
        self.last_run = run
        message = "done"
        if tap.last_real_at is not None and tap.last_real_at >= started:
            message = (
                "done; real traffic went through the proxy during the run: "
                "its figures may be skewed"
            )
        await self._final(plan, plan.total_steps, BenchmarkState.DONE, message)
        self.emit(run)

    async def _final(self, plan: RunPlan, step: int, state: BenchmarkState, message: str) -> None:
        with contextlib.suppress(Exception):
            await self.context.publish(
                BenchmarkProgress(
                    host=self.context.host,
                    run_id=plan.run_id,
                    step=step,
                    total_steps=plan.total_steps,
                    state=state,
                    message=message,
                )
            )

    async def close(self) -> None:
        """Stop a run going on (the probe stops)."""
        if self.task is not None and not self.task.done():
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
