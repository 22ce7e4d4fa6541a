"""The per-request rules, judged over the last requests of a window (pure code).

`slow_response`, `model_load` and `context_overflow` look at one request at a time. Judged
on the newest request alone, the next normal request cancelled a pending alert, so an
intermittent problem never fired. They are judged instead over the last n requests of the
window that succeeded (not cancelled): the condition holds while k of them are over the
threshold, and goes through the pending time like any other (so a sustained condition fires
exactly as before). One severe breach fires at once: a request over `severe_factor` x the
threshold (the millisecond rules) or over 100 % of its context.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ollamon_alerting.observations import Observation, Verdict
from ollamon_alerting.rules import PER_REQUEST_RULES, RuleName
from ollamon_alerting.windows import RequestSample

CONTEXT_FULL_PERCENT = 100.0


@dataclass(frozen=True)
class RequestRulePolicy:
    """k of n, the severe factor and the resolve margin of the per-request rules."""

    breaches: int = 3
    requests: int = 10
    severe_factor: float = 2.0
    hysteresis_fraction: float = 0.1


def request_value(rule: RuleName, sample: RequestSample) -> float | None:
    """The value a per-request rule reads from one request."""
    match rule:
        case RuleName.SLOW_RESPONSE:
            return sample.response_time_ms
        case RuleName.MODEL_LOAD:
            return sample.load_duration_ms
        case RuleName.CONTEXT_OVERFLOW:
            return sample.context_utilization_percent
    raise ValueError(f"{rule} is not a per-request rule")


def is_severe(rule: RuleName, value: float, threshold: float, severe_factor: float) -> bool:
    """True for a breach bad enough to fire on its own."""
    if rule is RuleName.CONTEXT_OVERFLOW:
        return value > CONTEXT_FULL_PERCENT
    return value > threshold * severe_factor


def request_rule_observations(
    host: str,
    model_name: str,
    recent: Sequence[RequestSample],
    thresholds: Mapping[RuleName, float],
    policy: RequestRulePolicy,
    newest: RequestSample | None = None,
) -> list[Observation]:
    """Each per-request rule's observation over `recent` (the last n judged requests).

    `newest` is the request that just arrived (None when time passes): when it is a severe
    breach, its observation fires at once.
    """
    return [
        _observe(rule, host, model_name, recent, thresholds[rule], policy, newest)
        for rule in PER_REQUEST_RULES
    ]


def _observe(
    rule: RuleName,
    host: str,
    model_name: str,
    recent: Sequence[RequestSample],
    threshold: float,
    policy: RequestRulePolicy,
    newest: RequestSample | None,
) -> Observation:
    values = [value for sample in recent if (value := request_value(rule, sample)) is not None]
    if not values:
        return Observation(rule, host, model_name, None, verdict=Verdict.CLEAR)
    over = sum(value > threshold for value in values)
    severe = any(is_severe(rule, value, threshold, policy.severe_factor) for value in values)
    if over >= policy.breaches or severe:
        verdict = Verdict.BREACH
    elif sum(value > threshold * (1 - policy.hysteresis_fraction) for value in values) >= (
        policy.breaches
    ):
        verdict = Verdict.HOLD
    else:
        verdict = Verdict.CLEAR
    newest_value = None
    if newest is not None and newest.measured:
        newest_value = request_value(rule, newest)
    immediate = newest_value is not None and is_severe(
        rule, newest_value, threshold, policy.severe_factor
    )
    detail = f"{over} of the last {len(values)} requests over the threshold"
    if rule is RuleName.CONTEXT_OVERFLOW and recent[-1].num_ctx:
        detail += f", num_ctx={recent[-1].num_ctx}"
    if rule is RuleName.MODEL_LOAD:
        detail += _load_kind(recent)
    return Observation(
        rule, host, model_name, max(values), detail, verdict=verdict, immediate=immediate
    )


def _load_kind(recent: Sequence[RequestSample]) -> str:
    """What the longest load_duration was, where the probe could tell."""
    slowest = max(recent, key=lambda sample: sample.load_duration_ms)
    if slowest.queued is True:
        return "; the longest was queue wait (the model was loaded already)"
    if slowest.queued is False:
        return "; the longest was a cold load"
    return ""
