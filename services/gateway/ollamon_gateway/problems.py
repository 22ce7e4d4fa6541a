"""Every error as RFC 9457 problem details, naming the service that did not answer."""

from __future__ import annotations

from http import HTTPStatus

from litestar.exceptions import HTTPException
from litestar.plugins.problem_details import (
    ProblemDetailsConfig,
    ProblemDetailsException,
    ProblemDetailsPlugin,
)
from pydantic import ValidationError

from ollamon_core import subjects
from ollamon_core.bus import QueryFailedError, ServiceUnavailableError
from ollamon_core.events import ServiceName

RETRY_AFTER_SECONDS = 5
# Request/reply routes alerting answers (its management: silences, thresholds, acks).
ALERTING_SUBJECTS = frozenset(
    route.subject
    for route in (subjects.CONTROL_ACK, subjects.CONTROL_SILENCES, subjects.CONTROL_THRESHOLDS)
)


def service_for_subject(subject: str) -> ServiceName:
    """The service that answers requests on `subject`."""
    if subject in (
        subjects.CONTROL_HEALTH_CHECK.subject,
        subjects.CONTROL_BENCHMARK.subject,
    ) or subjects.subject_matches(subjects.CONTROL_BENCHMARK_HOSTS, subject):
        return ServiceName.PROBE
    if subject in ALERTING_SUBJECTS:
        return ServiceName.ALERTING
    return ServiceName.STORAGE


def _title(status_code: int) -> str:
    try:
        return HTTPStatus(status_code).phrase
    except ValueError:
        return "Error"


def bad_request(detail: str, **extra: object) -> ProblemDetailsException:
    """A 400 problem with the reason."""
    return ProblemDetailsException(
        status_code=400, title=_title(400), detail=detail, extra=extra or None
    )


def from_http_exception(error: HTTPException) -> ProblemDetailsException:
    """Litestar's own errors (validation, 401, 404, 405) as problem details."""
    extra: dict[str, object] | None = None
    if isinstance(error.extra, list) and error.extra:
        extra = {"errors": error.extra}
    elif isinstance(error.extra, dict) and error.extra:
        extra = dict(error.extra)
    return ProblemDetailsException(
        status_code=error.status_code,
        title=_title(error.status_code),
        detail=error.detail,
        extra=extra,
        headers=error.headers,
    )


def from_unavailable(error: ServiceUnavailableError) -> ProblemDetailsException:
    """Nobody answered in time: 503 naming the service, never a hang."""
    service = service_for_subject(error.subject)
    return ProblemDetailsException(
        status_code=503,
        title=_title(503),
        detail=f"{service.value} did not answer on {error.subject}: {error.reason}",
        extra={"service": service.value, "subject": error.subject},
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


def from_query_failed(error: QueryFailedError) -> ProblemDetailsException:
    """The service answered with an error: pass its status and reason on."""
    status_code = error.error.status_code
    if not 400 <= status_code <= 599:
        status_code = 502
    return ProblemDetailsException(
        status_code=status_code,
        title=_title(status_code),
        detail=error.error.error,
    )


def from_invalid_reply(error: ValidationError) -> ProblemDetailsException:
    """A reply from another service did not validate (inputs are checked before sending)."""
    return ProblemDetailsException(
        status_code=502,
        title=_title(502),
        detail=f"a service answered with an invalid reply: {error.error_count()} error(s)",
    )


def problem_details_plugin() -> ProblemDetailsPlugin:
    """The plugin that renders every error above as `application/problem+json`."""
    return ProblemDetailsPlugin(
        ProblemDetailsConfig(
            exception_to_problem_detail_map={
                HTTPException: from_http_exception,
                ServiceUnavailableError: from_unavailable,
                QueryFailedError: from_query_failed,
                ValidationError: from_invalid_reply,
            }
        )
    )
