"""The bounds of commands and queries, as a plain NATS client would meet them: JSON in,
validated by the same models the services use."""

from __future__ import annotations

import json

import pytest
from pydantic import BaseModel, ValidationError

from ollamon_core.events import (
    AlertAcknowledgement,
    MonitoringControl,
    Severity,
    Silence,
    ThresholdUpdate,
)
from ollamon_core.events import queries as q
from ollamon_core.events.limits import (
    MAX_AUTHOR_CHARS,
    MAX_COMMENT_CHARS,
    MAX_FINGERPRINT_CHARS,
    MAX_HOST_CHARS,
    MAX_MODEL_NAME_CHARS,
    MAX_RULE_CHARS,
    MAX_SILENCE_ID_CHARS,
)

EXPIRED = "2020-01-01T00:00:00Z"
LIFT = {"silence_id": "s", "expires_at": EXPIRED}


def refused(model: type[BaseModel], body: dict[str, object]) -> str:
    with pytest.raises(ValidationError) as error:
        model.model_validate_json(json.dumps(body))
    return str(error.value)


@pytest.mark.parametrize(
    ("model", "body"),
    [
        (ThresholdUpdate, {"rule": "r" * (MAX_RULE_CHARS + 1), "threshold": 1}),
        (Silence, {"silence_id": "s" * (MAX_SILENCE_ID_CHARS + 1), "expires_at": EXPIRED}),
        (Silence, LIFT | {"comment": "c" * (MAX_COMMENT_CHARS + 1)}),
        (Silence, LIFT | {"match_alertname": "r" * (MAX_RULE_CHARS + 1)}),
        (Silence, LIFT | {"match_rule": "r" * (MAX_RULE_CHARS + 1)}),
        (Silence, LIFT | {"match_host": "h" * (MAX_HOST_CHARS + 1)}),
        (Silence, LIFT | {"match_model": "m" * (MAX_MODEL_NAME_CHARS + 1)}),
        (Silence, {"silence_id": "", "expires_at": EXPIRED}),
        (Silence, LIFT | {"author": "a" * (MAX_AUTHOR_CHARS + 1)}),
        (ThresholdUpdate, {"rule": "r", "threshold": 1, "author": "a" * (MAX_AUTHOR_CHARS + 1)}),
        (ThresholdUpdate, {"rule": "r", "threshold": 1, "comment": "c" * (MAX_COMMENT_CHARS + 1)}),
        (AlertAcknowledgement, {"fingerprint": "f" * (MAX_FINGERPRINT_CHARS + 1)}),
        (AlertAcknowledgement, {"fingerprint": "f", "author": "a" * (MAX_AUTHOR_CHARS + 1)}),
        (AlertAcknowledgement, {"fingerprint": ""}),
        (MonitoringControl, {"action": "start", "host": "h" * (MAX_HOST_CHARS + 1)}),
        (q.ModelMetricsQuery, {"model_name": "m" * (MAX_MODEL_NAME_CHARS + 1)}),
        (q.TrendsQuery, {"model_name": "m" * (MAX_MODEL_NAME_CHARS + 1)}),
        (q.SystemHistoryQuery, {"host": "h" * (MAX_HOST_CHARS + 1)}),
    ],
)
def test_text_fields_of_commands_and_queries_are_bounded(
    model: type[BaseModel], body: dict[str, object]
) -> None:
    reason = refused(model, body)
    assert "at least 1 character" in reason or "at most" in reason


@pytest.mark.parametrize("value", [True, "24", "nan", None])
@pytest.mark.parametrize(
    ("model", "field"),
    [
        (q.SummaryQuery, "hours"),
        (q.SummaryQuery, "recent_alert_limit"),
        (q.SystemHistoryQuery, "limit"),
        (q.AlertsQuery, "limit"),
        (q.LifecycleQuery, "hours"),
        (q.CleanupRequest, "days_to_keep"),
    ],
)
def test_numbers_of_queries_must_be_json_numbers(
    model: type[BaseModel], field: str, value: object
) -> None:
    refused(model, {field: value})


def test_a_fraction_is_not_a_whole_number_of_days() -> None:
    assert "whole JSON number" in refused(q.CleanupRequest, {"days_to_keep": 1.5})


def test_a_silence_accepts_its_former_match_rule_as_match_alertname() -> None:
    silence = Silence.model_validate_json(json.dumps(LIFT | {"match_rule": "slow_response"}))
    assert silence.match_alertname == "slow_response"
    assert "match_rule" not in silence.model_dump()


def test_a_silence_matches_only_a_known_severity() -> None:
    silence = Silence.model_validate_json(json.dumps(LIFT | {"match_severity": "high"}))
    assert silence.match_severity is Severity.HIGH
    loud: dict[str, object] = {**LIFT, "match_severity": "loud"}
    refused(Silence, loud)
