"""`/api/ai/ollama/performance/benchmarks`: stored runs and their ranking; start a run.

GET asks storage (`ollamon.query.benchmarks`); POST asks the probe to start the suite
(`ollamon.control.benchmark`, or the named host's own route) and answers 202 with the run
id as soon as the probe took it: the run's progress (`benchmark_progress`) and its result
(`benchmark_run`) follow on the SSE stream. A POST passes the guards of every state change
(token, same origin, JSON) and its body is the `BenchmarkRequest` a NATS client sends, with
the same bounds. A host no probe answers for is a 503 naming the host, at once (NATS says
nobody listens on its route).
"""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get, post
from litestar.params import JSONBody, QueryParameter
from litestar.plugins.problem_details import ProblemDetailsException

from ollamon_core import subjects
from ollamon_core.bus import ServiceUnavailableError
from ollamon_core.events import BenchmarkAccepted, BenchmarkRequest
from ollamon_core.events.benchmark_queries import (
    MAX_BENCHMARK_RUNS,
    BenchmarksQuery,
    BenchmarksReply,
)
from ollamon_core.events.limits import MAX_HOST_CHARS, MAX_MODEL_NAME_CHARS
from ollamon_gateway.auth import BEARER_SCHEME
from ollamon_gateway.openapi_docs import STATE_CHANGE, problem_responses
from ollamon_gateway.problems import RETRY_AFTER_SECONDS
from ollamon_gateway.resources import GatewayDep

POST_SECURITY: list[dict[str, list[str]]] = [{BEARER_SCHEME: []}]


def no_probe_for(host: str, error: ServiceUnavailableError) -> ProblemDetailsException:
    """503 naming the host whose probe did not answer on its benchmark route."""
    return ProblemDetailsException(
        status_code=503,
        title="Service Unavailable",
        detail=(
            f"no probe of host {host!r} answered on {error.subject}: {error.reason} "
            "(is the host label right, and its probe running and linked?)"
        ),
        extra={"service": "probe", "host": host, "subject": error.subject},
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


class BenchmarksController(Controller):
    """Benchmark runs: the stored ones, ranked and compared, and starting a new one."""

    path = "/api/ai/ollama/performance/benchmarks"
    tags = ["benchmarks"]

    @get(
        "/",
        summary="Benchmark runs, ranking and version comparisons",
        responses=problem_responses(400, 503),
    )
    async def benchmarks(
        self,
        gateway: GatewayDep,
        host: Annotated[
            str | None,
            QueryParameter(
                min_length=1, max_length=MAX_HOST_CHARS, description="Only this host's runs"
            ),
        ] = None,
        model: Annotated[
            str | None,
            QueryParameter(
                min_length=1,
                max_length=MAX_MODEL_NAME_CHARS,
                description="Only this model's results",
            ),
        ] = None,
        limit: Annotated[
            int,
            QueryParameter(ge=1, le=MAX_BENCHMARK_RUNS, description="Most runs listed"),
        ] = 20,
    ) -> BenchmarksReply:
        """Stored benchmark runs (newest first), the ranking and the version comparisons.

        `ranking`: the latest run of each (host, model), fastest warm eval tokens/s first,
        each figure a mean with its 95 % interval (`low`, `high`), with TTFT, cold load time,
        VRAM, whether the model fits in VRAM and the server version. `comparisons`: each
        (host, model)'s latest run against its latest earlier run on another server version
        (eval tokens/s, TTFT, load time), `flagged` when the change is at least 10 % and
        beyond both runs' intervals (25 % for the cold load, measured once), with a `message`
        such as
        `0.12.3 -> 0.12.6: llama3.2:1b eval -18 % on gpu-a`.
        """
        # The parameters carry the query's own bounds, so this validates.
        query = BenchmarksQuery(host=host, model=model, limit=limit)
        reply: BenchmarksReply = await gateway.request(subjects.QUERY_BENCHMARKS, query)
        return reply

    @post(
        "/",
        status_code=202,
        security=POST_SECURITY,
        summary="Run the benchmark suite",
        responses=problem_responses(
            *STATE_CHANGE,
            409,
            503,
            e400=(
                "The body did not validate (bounds: at most 50 models, repetitions 1-20, "
                "num_ctx 256-131072), or the server lists none of the models"
            ),
            e409="Real traffic is in flight or was seen lately (send `force: true`), or a run "
            "is going on already",
            e503="The probe did not answer (`service`: probe), or no probe of the `host` asked "
            "(`host` names it); `Retry-After` says when to retry",
        ),
    )
    async def start(
        self, gateway: GatewayDep, data: JSONBody[BenchmarkRequest]
    ) -> BenchmarkAccepted:
        """Start a benchmark run on the probe: a fixed, versioned prompt suite (short chat,
        long prompt near `num_ctx`, streamed generation, embeddings where the model has
        them) through the proxy, cold load first (unless `cold: false`) then `repetitions`
        warm runs of each case.

        Answers 202 with the `run_id` once the probe has started it; follow the run on the
        stream (`GET .../stream`: `benchmark_progress` events, then one `benchmark_run` with
        the results, stored and listed by `GET .../benchmarks`). `models` empty: every model
        the server lists. `host` (a host label of the fleet): that host's probe runs it; none:
        any probe.
        """
        route = subjects.benchmark_route(data.host)
        try:
            accepted: BenchmarkAccepted = await gateway.request(route, data)
        except ServiceUnavailableError as error:
            if data.host is None:
                raise
            raise no_probe_for(data.host, error) from None
        return accepted
