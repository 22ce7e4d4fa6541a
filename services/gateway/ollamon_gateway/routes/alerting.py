"""Managing alerting over REST: silences, acknowledgements and thresholds.

Alerting owns this state; the gateway asks it over NATS (`subjects.CONTROL_SILENCES`,
`CONTROL_THRESHOLDS`, `CONTROL_ACK`) and sends the changes it accepts as the control
messages any NATS client may send (`Silence`, `ThresholdUpdate`). A change is answered
once alerting shows it: the new silence is among those in force, the expired one is gone,
the threshold is the new value (a change alerting refused is a 422, alerting not
answering a 503 naming it). Every accepted change is audited by alerting (`AlertAudit`,
kept by storage and shown in `GET .../alerts`).

State changes pass the same guards as every POST: the bearer token when one is set, and a
browser's request only from the gateway's own origin, as JSON (same_origin.py, auth.py).
"""

from __future__ import annotations

import asyncio
import math
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Annotated, Self, TypeVar

from litestar import Controller, Response, delete, get, post, put
from litestar.exceptions import NotFoundException
from litestar.params import JSONBody, PathParameter, QueryParameter
from litestar.plugins.problem_details import ProblemDetailsException
from pydantic import AwareDatetime, Field, model_validator

from ollamon_core import subjects
from ollamon_core.events import Severity, Silence, ThresholdUpdate, utc_now
from ollamon_core.events.alert_management import (
    AlertAcknowledgement,
    AlertAcknowledgementReply,
    RuleThreshold,
    SilencesQuery,
    SilencesReply,
    ThresholdsQuery,
    ThresholdsReply,
)
from ollamon_core.events.limits import (
    MAX_AUTHOR_CHARS,
    MAX_COMMENT_CHARS,
    MAX_FINGERPRINT_CHARS,
    MAX_RULE_CHARS,
    MAX_SILENCE,
    MAX_SILENCE_ID_CHARS,
    HostLabel,
    JsonNumber,
    ModelName,
    RuleKey,
    ThresholdValue,
)
from ollamon_gateway.api_models import ApiModel
from ollamon_gateway.auth import BEARER_SCHEME
from ollamon_gateway.openapi_docs import STATE_CHANGE, problem_responses
from ollamon_gateway.problems import bad_request
from ollamon_gateway.resources import Gateway, GatewayDep

STATE_CHANGE_SECURITY: list[dict[str, list[str]]] = [{BEARER_SCHEME: []}]
# How often the gateway asks alerting whether a change shows yet, until the request timeout.
CONFIRM_PAUSE_SECONDS = 0.05

# Who made a change: required on every change, so the audit trail names someone.
RequiredAuthor = Annotated[
    str,
    Field(min_length=1, max_length=MAX_AUTHOR_CHARS, description="Who makes the change"),
]
OptionalComment = Annotated[
    str, Field(max_length=MAX_COMMENT_CHARS, description="Why (kept in the audit trail)")
]
SilenceDuration = Annotated[
    JsonNumber,
    Field(gt=0, le=MAX_SILENCE.total_seconds(), description="Seconds from now (30 days at most)"),
]

T = TypeVar("T")


class SilenceBody(ApiModel):
    """Body of `POST .../silences`: at least one matcher, who and why, and an end.

    Matchers left out match any value. The end is `ends_at` (an aware time in the future)
    or `duration_seconds` from now, exactly one of them, at most 30 days away.
    """

    match_alertname: RuleKey | None = Field(
        default=None, description="The rule: an alert's alert_type (or its setting's name)"
    )
    match_host: HostLabel | None = None
    match_model: ModelName | None = None
    match_severity: Severity | None = None
    author: RequiredAuthor
    comment: OptionalComment = ""
    ends_at: AwareDatetime | None = None
    duration_seconds: SilenceDuration | None = None

    @model_validator(mode="after")
    def _one_end_and_a_matcher(self) -> Self:
        if (self.ends_at is None) == (self.duration_seconds is None):
            raise ValueError("give exactly one of ends_at and duration_seconds")
        matchers = (self.match_alertname, self.match_host, self.match_model, self.match_severity)
        if all(matcher is None for matcher in matchers):
            raise ValueError(
                "a silence needs at least one matcher (match_alertname, match_host,"
                " match_model, match_severity)"
            )
        return self


class AcknowledgementBody(ApiModel):
    """Body of `POST .../alerts/{fingerprint}/acknowledge`."""

    author: RequiredAuthor
    comment: OptionalComment = ""


class ThresholdBody(ApiModel):
    """Body of `PUT .../thresholds/{rule}`: the new value, who and why."""

    threshold: ThresholdValue
    author: RequiredAuthor
    comment: OptionalComment = ""


SilenceIdPath = Annotated[
    str, PathParameter(min_length=1, max_length=MAX_SILENCE_ID_CHARS, description="The silence")
]
FingerprintPath = Annotated[
    str,
    PathParameter(
        min_length=1, max_length=MAX_FINGERPRINT_CHARS, description="The firing alert's fingerprint"
    ),
]
RulePath = Annotated[
    str,
    PathParameter(
        min_length=1,
        max_length=MAX_RULE_CHARS,
        description="The rule (an alert_type, e.g. slow_response) or its setting's name",
    ),
]


def unprocessable(detail: str, **extra: object) -> ProblemDetailsException:
    """A 422 problem: the request was understood, and refused."""
    return ProblemDetailsException(
        status_code=422, title="Unprocessable Content", detail=detail, extra=extra or None
    )


def out_of_bounds(rule: RuleThreshold, value: float) -> str | None:
    """Why `value` is not a threshold `rule` takes, or None when it is."""
    if not math.isfinite(value):
        return "the threshold must be a finite number"
    low, high = rule.minimum, rule.maximum
    if low is not None and (value <= low if rule.minimum_exclusive else value < low):
        relation = "above" if rule.minimum_exclusive else "at least"
        return f"{rule.rule} takes a threshold {relation} {low:g} {rule.unit}".rstrip()
    if high is not None and (value >= high if rule.maximum_exclusive else value > high):
        relation = "below" if rule.maximum_exclusive else "at most"
        return f"{rule.rule} takes a threshold {relation} {high:g} {rule.unit}".rstrip()
    return None


async def _until(
    gateway: Gateway, ask: Callable[[], Awaitable[T]], shows: Callable[[T], bool]
) -> T | None:
    """Ask alerting until its answer shows the change; None when it never did in time."""
    deadline = asyncio.get_running_loop().time() + gateway.settings.nats_request_timeout_seconds
    while True:
        answer = await ask()
        if shows(answer):
            return answer
        if asyncio.get_running_loop().time() >= deadline:
            return None
        await asyncio.sleep(CONFIRM_PAUSE_SECONDS)


async def _silences(gateway: Gateway) -> SilencesReply:
    reply: SilencesReply = await gateway.request(subjects.CONTROL_SILENCES, SilencesQuery())
    return reply


async def _thresholds(gateway: Gateway) -> ThresholdsReply:
    reply: ThresholdsReply = await gateway.request(subjects.CONTROL_THRESHOLDS, ThresholdsQuery())
    return reply


def _find_rule(thresholds: ThresholdsReply, rule: str) -> RuleThreshold | None:
    return next((item for item in thresholds.thresholds if rule in (item.rule, item.setting)), None)


def _silence_of(body: SilenceBody, host: str) -> Silence:
    now = utc_now()
    ends_at = body.ends_at
    if ends_at is None:
        assert body.duration_seconds is not None  # the body's validator saw to it
        ends_at = now + timedelta(seconds=body.duration_seconds)
    if ends_at <= now:
        raise bad_request(f"ends_at {ends_at.isoformat()} is not in the future")
    if ends_at - now > MAX_SILENCE:
        raise bad_request(f"a silence lasts at most {MAX_SILENCE.days} days")
    return Silence(
        host=host,
        timestamp=now,
        silence_id=uuid.uuid4().hex,
        match_alertname=body.match_alertname,
        match_host=body.match_host,
        match_model=body.match_model,
        match_severity=body.match_severity,
        expires_at=ends_at,
        author=body.author,
        comment=body.comment,
    )


class AlertingController(Controller):
    """Silences, acknowledgements and thresholds, managed through alerting."""

    path = "/api/ai/ollama/performance"
    tags = ["alerting"]

    @get("/silences", summary="Silences in force", responses=problem_responses(400, 503))
    async def silences(self, gateway: GatewayDep) -> SilencesReply:
        """The silences in force now, soonest to expire first (alerting's own list)."""
        return await _silences(gateway)

    @post(
        "/silences",
        status_code=201,
        security=STATE_CHANGE_SECURITY,
        summary="Create a silence",
        responses=problem_responses(*STATE_CHANGE, 422, 503),
    )
    async def create_silence(
        self, gateway: GatewayDep, data: JSONBody[SilenceBody]
    ) -> Response[Silence]:
        """Hold back alerts matching every given matcher until the end time.

        Answered (201, `Location` naming it) once alerting lists the silence as in force.
        """
        silence = _silence_of(data, gateway.settings.host_label)
        await gateway.bus.publish(silence)
        shown = await _until(
            gateway,
            lambda: _silences(gateway),
            lambda reply: any(s.silence_id == silence.silence_id for s in reply.silences),
        )
        if shown is None:
            raise unprocessable("alerting did not take the silence in time: see its log")
        held = next(s for s in shown.silences if s.silence_id == silence.silence_id)
        return Response(
            held,
            status_code=201,
            headers={"Location": f"{self.path}/silences/{silence.silence_id}"},
        )

    @delete(
        "/silences/{silence_id:str}",
        status_code=200,
        security=STATE_CHANGE_SECURITY,
        summary="Expire a silence",
        responses=problem_responses(
            *STATE_CHANGE, 404, 422, 503, e404="No silence is in force under that id"
        ),
    )
    async def expire_silence(
        self,
        gateway: GatewayDep,
        silence_id: SilenceIdPath,
        author: Annotated[
            str, QueryParameter(min_length=1, max_length=MAX_AUTHOR_CHARS, description="Who")
        ],
        comment: Annotated[str, QueryParameter(max_length=MAX_COMMENT_CHARS)] = "",
    ) -> Silence:
        """Expire a silence now (its matchers kept, for the audit trail); 404 if none is in
        force under that id."""
        current = next(
            (s for s in (await _silences(gateway)).silences if s.silence_id == silence_id), None
        )
        if current is None:
            raise NotFoundException(detail=f"no silence {silence_id!r} is in force")
        now = utc_now()
        expired = Silence.model_validate(
            current.model_dump(exclude={"event_id"})
            | {
                "timestamp": now,
                "host": gateway.settings.host_label,
                "expires_at": now - timedelta(milliseconds=1),
                "author": author,
                "comment": comment,
            }
        )
        await gateway.bus.publish(expired)
        gone = await _until(
            gateway,
            lambda: _silences(gateway),
            lambda reply: all(s.silence_id != silence_id for s in reply.silences),
        )
        if gone is None:
            raise unprocessable("alerting did not expire the silence in time: see its log")
        return expired

    @post(
        "/alerts/{fingerprint:str}/acknowledge",
        status_code=200,
        security=STATE_CHANGE_SECURITY,
        summary="Acknowledge a firing alert",
        responses=problem_responses(
            *STATE_CHANGE, 404, 503, e404="No alert with that fingerprint is firing"
        ),
    )
    async def acknowledge(
        self, gateway: GatewayDep, fingerprint: FingerprintPath, data: JSONBody[AcknowledgementBody]
    ) -> AlertAcknowledgementReply:
        """Acknowledge a firing alert: it stays firing, and is not notified again while it
        lasts. 404 when no alert with that fingerprint is firing."""
        request = AlertAcknowledgement(
            host=gateway.settings.host_label,
            fingerprint=fingerprint,
            author=data.author,
            comment=data.comment,
        )
        reply: AlertAcknowledgementReply = await gateway.request(subjects.CONTROL_ACK, request)
        return reply

    @get("/thresholds", summary="Every rule's threshold", responses=problem_responses(400, 503))
    async def thresholds(self, gateway: GatewayDep) -> ThresholdsReply:
        """Every rule's threshold now, with its default, its bounds and its last change."""
        return await _thresholds(gateway)

    @put(
        "/thresholds/{rule:str}",
        status_code=200,
        security=STATE_CHANGE_SECURITY,
        summary="Change a rule's threshold",
        responses=problem_responses(
            *STATE_CHANGE,
            404,
            422,
            503,
            e404="No rule of that name has a threshold",
            e422=(
                "The value is outside the rule's bounds (given in the problem), or alerting"
                " did not take it"
            ),
        ),
    )
    async def set_threshold(
        self, gateway: GatewayDep, rule: RulePath, data: JSONBody[ThresholdBody]
    ) -> RuleThreshold:
        """Change one rule's threshold (alerting keeps it across restarts).

        404 for a rule without a threshold; 422 for a value outside the rule's bounds.
        """
        current = _find_rule(await _thresholds(gateway), rule)
        if current is None:
            raise NotFoundException(detail=f"no rule {rule!r} has a threshold")
        reason = out_of_bounds(current, data.threshold)
        if reason is not None:
            raise unprocessable(
                reason,
                rule=current.rule,
                minimum=current.minimum,
                minimum_exclusive=current.minimum_exclusive,
                maximum=current.maximum,
                maximum_exclusive=current.maximum_exclusive,
            )
        update = ThresholdUpdate(
            host=gateway.settings.host_label,
            rule=current.rule,
            threshold=data.threshold,
            author=data.author,
            comment=data.comment,
        )
        await gateway.bus.publish(update)
        shown = await _until(
            gateway,
            lambda: _thresholds(gateway),
            lambda reply: (
                (found := _find_rule(reply, current.rule)) is not None
                and found.threshold == data.threshold
            ),
        )
        if shown is None:
            raise unprocessable(f"alerting did not take the threshold of {current.rule} in time")
        found = _find_rule(shown, current.rule)
        assert found is not None
        return found
