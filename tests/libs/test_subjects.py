"""The subject module: tokens, builders, the subject -> model map."""

from __future__ import annotations

import pytest

from ollamon_core import subjects
from ollamon_core.events import (
    AlertAudit,
    AuditAction,
    ModelScore,
    OllamaModelMetrics,
    OllamaPerformanceAlert,
    OllamaSystemMetrics,
    Severity,
)


def test_subject_token_replaces_dots_wildcards_and_spaces() -> None:
    assert subjects.subject_token("llama3.2:1b") == "llama3_2:1b"
    assert subjects.subject_token("a*b>c d") == "a_b_c_d"
    assert subjects.subject_token("hf.co/org/model:Q4") == "hf_co_org_model:Q4"
    assert subjects.subject_token("") == "_"


def test_subject_for_routes_each_event_type() -> None:
    request = OllamaModelMetrics(model_name="llama3.2:1b", response_time_ms=1.0)
    assert subjects.subject_for(request) == "ollamon.requests.llama3_2:1b"
    alert = OllamaPerformanceAlert(alert_type="slow_response", severity=Severity.HIGH, message="m")
    assert subjects.subject_for(alert) == "ollamon.alerts.high"
    score = ModelScore(model_name="qwen2.5", score=7.5)
    assert subjects.subject_for(score) == "ollamon.scores.qwen2_5"


def test_every_event_subject_is_covered_by_the_stream() -> None:
    system = OllamaSystemMetrics(
        cpu_usage_percent=1, memory_usage_percent=1, memory_available_gb=1, disk_usage_percent=1
    )
    for subject in (subjects.subject_for(system), "ollamon.requests.x", "ollamon.alerts.low"):
        assert any(
            subjects.subject_matches(pattern, subject)
            for pattern in subjects.STREAM_EVENTS_SUBJECTS
        )


def test_query_subjects_are_not_in_the_stream() -> None:
    for subject in subjects.QUERY_ROUTES:
        assert not any(
            subjects.subject_matches(pattern, subject)
            for pattern in subjects.STREAM_EVENTS_SUBJECTS
        )


@pytest.mark.parametrize(
    ("pattern", "subject", "expected"),
    [
        ("ollamon.>", "ollamon.system", True),
        ("ollamon.>", "ollamon", False),
        ("ollamon.*.x", "ollamon.a.x", True),
        ("ollamon.*.x", "ollamon.a.y", False),
        ("ollamon.system", "ollamon.system.extra", False),
    ],
)
def test_subject_matches_follows_nats_wildcards(pattern: str, subject: str, expected: bool) -> None:
    assert subjects.subject_matches(pattern, subject) is expected


def test_model_for_subject_finds_the_model_or_none() -> None:
    assert subjects.model_for_subject("ollamon.requests.m") is OllamaModelMetrics
    assert subjects.model_for_subject("ollamon.query.summary") is None


def test_alerting_audit_events_are_kept_in_the_stream_and_its_management_is_request_reply() -> None:
    audit = AlertAudit(action=AuditAction.THRESHOLD_CHANGED, rule="slow_response")
    assert subjects.subject_for(audit) == subjects.AUDIT_ALERTING == "ollamon.audit.alerting"
    assert subjects.model_for_subject(subjects.AUDIT_ALERTING) is AlertAudit
    assert subjects.AUDIT_ALERTING in subjects.STREAM_EVENTS_SUBJECTS
    for route in (subjects.CONTROL_ACK, subjects.CONTROL_SILENCES, subjects.CONTROL_THRESHOLDS):
        assert subjects.QUERY_ROUTES[route.subject] is route
        assert route.subject.startswith("ollamon.control.alerting.")


def test_a_host_route_token_is_the_label_when_safe_and_never_shared_by_two_labels() -> None:
    assert subjects.benchmark_route("gpu-b").subject == "ollamon.control.benchmark.gpu-b"
    labels = ["gpu.a", "gpu_a", "gpu a", "x" * 200, "x" * 201]
    tokens = [subjects.host_route_token(label) for label in labels]
    assert tokens[1] == "gpu_a"
    assert len(set(tokens)) == len(labels)
    assert all(len(token) <= subjects.MAX_TOKEN_LENGTH for token in tokens)
    assert not any(char in token for token in tokens for char in ".*> ")
