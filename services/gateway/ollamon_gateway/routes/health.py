"""`GET /api/ai/ollama/health`: Ollama's health, asking the probe at most once per interval.

A GET changes nothing: it records no row and publishes nothing. It answers from the health
the gateway already knows (the probe's live `health` events, and the last check's answer)
while that is younger than `OLLAMON_HEALTH_CHECK_INTERVAL`; after that one caller starts a
check through the probe and every caller meanwhile waits for that same answer. A failed
check (no probe) is answered again, without asking, until the interval has passed.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

from litestar import get
from litestar.di import Dependency

from ollamon_core import subjects
from ollamon_core.bus import QueryFailedError, ServiceUnavailableError
from ollamon_core.events import HealthCheckReply, HealthCheckRequest, OllamaHealth, utc_now
from ollamon_gateway.openapi_docs import problem_responses
from ollamon_gateway.resources import Gateway, GatewayDep


def _fresh_copy(error: BaseException) -> BaseException:
    """The same failure as a new exception, so each caller raises its own (tracebacks of
    one shared exception would grow with every caller)."""
    if isinstance(error, ServiceUnavailableError):
        return ServiceUnavailableError(error.subject, error.reason)
    if isinstance(error, QueryFailedError):
        return QueryFailedError(error.error)
    return error


class HealthChecks:
    """The latest Ollama health, and at most one check through the probe per interval."""

    def __init__(self, interval_seconds: float) -> None:
        self.interval_seconds = interval_seconds
        self._check: asyncio.Task[HealthCheckReply] | None = None
        self._check_started = 0.0

    def known(self, gateway: Gateway) -> list[OllamaHealth]:
        """The known health of every Ollama server, when all of it is recent enough."""
        health = gateway.live.ollama_health()
        now = utc_now()
        if health and all(
            (now - result.timestamp).total_seconds() < self.interval_seconds for result in health
        ):
            return health
        return []

    async def latest(self, gateway: Gateway) -> HealthCheckReply:
        """The recent health if known, else the answer of the current (or a new) check."""
        known = self.known(gateway)
        if known:
            return HealthCheckReply(host=gateway.settings.host_label, results=known)
        now = asyncio.get_running_loop().time()
        check = self._check
        if check is None or (check.done() and now - self._check_started >= self.interval_seconds):
            self._check_started = now
            check = self._check = asyncio.create_task(self._ask_probe(gateway))
            check.add_done_callback(_retrieve)
        try:
            # Shielded: a caller that goes away does not cancel the others' check.
            return await asyncio.shield(check)
        except (ServiceUnavailableError, QueryFailedError) as error:
            raise _fresh_copy(error) from None

    @staticmethod
    async def _ask_probe(gateway: Gateway) -> HealthCheckReply:
        request = HealthCheckRequest(host=gateway.settings.host_label)
        reply: HealthCheckReply = await gateway.request(subjects.CONTROL_HEALTH_CHECK, request)
        for result in reply.results:
            gateway.live.apply_health(result)  # the gateway's memory only; nothing is published
        return reply


def _retrieve(task: asyncio.Task[HealthCheckReply]) -> None:
    """Mark a check's failure as seen even when every caller went away before it ended."""
    if not task.cancelled():
        task.exception()


HealthChecksDep = Annotated[HealthChecks, Dependency(kind="named")]


@get(
    "/api/ai/ollama/health",
    tags=["health"],
    summary="Ollama health",
    responses=problem_responses(400, 503, e503="The probe did not answer in time"),
)
async def ollama_health(gateway: GatewayDep, health_checks: HealthChecksDep) -> HealthCheckReply:
    """Every Ollama server's health: the probe checks at most once per
    `OLLAMON_HEALTH_CHECK_INTERVAL` seconds, concurrent callers share its answer, and
    nothing is recorded."""
    return await health_checks.latest(gateway)
