"""Thresholds, silences and acknowledgements as pure code: what is accepted, what each
accepted change tells the audit trail, what the management routes answer."""

from __future__ import annotations

from datetime import timedelta

import pytest

from ollamon_alerting.engine import AlertEngine
from ollamon_alerting.lifecycle import fingerprint
from ollamon_alerting.rules import RuleName, UnknownRuleError
from ollamon_core.events import (
    AlertAcknowledgement,
    AlertState,
    AuditAction,
    Severity,
    Silence,
    ThresholdUpdate,
)
from tests.services.alerting.conftest import FakeClock, make_settings
from tests.services.alerting.factories import HOST, MODEL, request


@pytest.fixture
def engine() -> AlertEngine:
    return AlertEngine(
        make_settings(
            for_seconds=0,
            resolve_seconds=0,
            repeat_interval_seconds=120,
            request_rule_breaches=1,
            request_rule_requests=1,
        )
    )


def test_a_threshold_change_is_audited_with_its_author_and_shown_with_its_bounds(
    engine: AlertEngine, clock: FakeClock
) -> None:
    update = ThresholdUpdate(rule="response_time_ms", threshold=20000, author="ana", comment="x")
    rule, change, audit = engine.controls.set_threshold(update, clock())
    assert rule is RuleName.SLOW_RESPONSE
    assert (change.updated_by, change.updated_at) == ("ana", clock())
    assert audit.action is AuditAction.THRESHOLD_CHANGED
    assert (audit.rule, audit.threshold, audit.previous_threshold) == (
        "slow_response",
        20000,
        30000,
    )
    assert (audit.author, audit.comment) == ("ana", "x")
    with pytest.raises(UnknownRuleError):
        engine.controls.set_threshold(ThresholdUpdate(rule="nope", threshold=1), clock())
    rows = {row.rule: row for row in engine.controls.thresholds_reply().thresholds}
    assert "ollama_unreachable" not in rows
    assert set(rows) == {rule.value for rule in RuleName} - {"ollama_unreachable"}
    slow = rows["slow_response"]
    assert (slow.threshold, slow.default, slow.setting, slow.updated_by) == (
        20000,
        30000,
        "response_time_ms",
        "ana",
    )
    assert (slow.minimum, slow.minimum_exclusive, slow.maximum) == (0, True, 86_400_000)
    offload = rows["partial_offload"]
    assert (offload.minimum, offload.minimum_exclusive, offload.maximum_exclusive) == (
        0,
        False,
        True,
    )
    assert rows["vram_full"].default == 95


def silence(
    clock: FakeClock, silence_id: str = "s1", minutes: int = 10, **match: object
) -> Silence:
    return Silence.model_validate(
        {
            "silence_id": silence_id,
            "expires_at": clock() + timedelta(minutes=minutes),
            "author": "bo",
            "comment": "upgrade",
            **match,
        }
    )


def test_a_silence_is_created_updated_and_expired_each_audited_and_keeps_its_creation_time(
    engine: AlertEngine, clock: FakeClock
) -> None:
    created, in_force, audit = engine.controls.add_silence(silence(clock), clock())
    assert in_force and created.created_at == clock()
    assert audit is not None and audit.action is AuditAction.SILENCE_CREATED
    assert (audit.author, audit.comment, audit.silence) == ("bo", "upgrade", created)
    first = clock()
    clock.advance(60)
    updated, _, audit = engine.controls.add_silence(silence(clock, minutes=30), clock())
    assert updated.created_at == first
    assert audit is not None and audit.action is AuditAction.SILENCE_UPDATED
    assert engine.controls.silences_reply(clock()).silences == [updated]
    lift = silence(clock, minutes=-1)
    _, in_force, audit = engine.controls.add_silence(lift, clock())
    assert not in_force
    assert audit is not None and audit.action is AuditAction.SILENCE_EXPIRED
    assert engine.controls.add_silence(lift, clock())[2] is None  # nothing left to lift
    engine.controls.add_silence(silence(clock, "short", minutes=1), clock())
    clock.advance(61)
    expired, audits = engine.controls.expire_silences(clock())
    assert [s.silence_id for s in expired] == ["short"]
    assert [(a.action, a.author) for a in audits] == [(AuditAction.SILENCE_EXPIRED, "alerting")]
    assert engine.controls.silences_reply(clock()).silences == []


@pytest.mark.parametrize(
    ("match", "silenced"),
    [
        ({"match_alertname": "slow_response"}, True),
        ({"match_alertname": "response_time_ms"}, True),  # the rule's setting names it too
        ({"match_alertname": "model_load"}, False),
        ({"match_severity": "medium"}, True),
        ({"match_severity": "critical"}, False),
        ({"match_host": HOST, "match_model": MODEL, "match_severity": "medium"}, True),
        ({"match_host": "elsewhere"}, False),
    ],
)
def test_silences_match_on_alertname_host_model_and_severity(
    engine: AlertEngine, clock: FakeClock, match: dict[str, str], silenced: bool
) -> None:
    engine.controls.add_silence(silence(clock, "s1", 10, **match), clock())
    alerts = engine.on_request(request(response_time_ms=45000), clock())  # medium
    assert (alerts == []) is silenced


def test_an_acknowledged_alert_is_not_notified_again_until_it_resolves(
    engine: AlertEngine, clock: FakeClock
) -> None:
    (firing,) = engine.on_request(request(response_time_ms=45000), clock())
    assert engine.acknowledge(AlertAcknowledgement(fingerprint="nope"), clock()) is None
    clock.advance(5)
    ack = AlertAcknowledgement(fingerprint=firing.fingerprint, author="cy", comment="on it")
    done = engine.acknowledge(ack, clock())
    assert done is not None
    reply, audit, again = done
    assert (reply.alert_type, reply.host, reply.model_name) == ("slow_response", HOST, MODEL)
    assert (reply.acknowledged_by, reply.acknowledged_at) == ("cy", clock())
    assert (audit.action, audit.fingerprint, audit.comment) == (
        AuditAction.ALERT_ACKNOWLEDGED,
        firing.fingerprint,
        "on it",
    )
    assert (again.state, again.acknowledged_by, again.notification_count) == (
        AlertState.FIRING,
        "cy",
        1,
    )
    clock.advance(3600)  # past the repeat interval: no repeat once acknowledged
    assert engine.on_request(request(response_time_ms=45000), clock()) == []
    assert engine.tick(clock()) == []
    (resolved,) = engine.on_request(request(), clock())
    assert (resolved.state, resolved.acknowledged_by) == (AlertState.RESOLVED, "cy")
    (refired,) = engine.on_request(request(response_time_ms=45000), clock())
    assert refired.acknowledged_by is None  # the acknowledgement ended with its alert
    assert refired.severity is Severity.MEDIUM


def test_an_unacknowledged_alert_repeats(engine: AlertEngine, clock: FakeClock) -> None:
    engine.on_request(request(response_time_ms=45000), clock())
    clock.advance(120)
    (repeat,) = engine.tick(clock())
    assert repeat.notification_count == 2
    key = fingerprint(RuleName.SLOW_RESPONSE, HOST, MODEL)
    assert repeat.fingerprint == key
