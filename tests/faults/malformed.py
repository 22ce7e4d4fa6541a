"""Malformed payloads, and which service consumes which subject (what the flood expects).

`CONSUMERS` is the contract the flood test checks: every subject a service reads, spelled
through `ollamon_core.subjects`. Events on stream subjects reach storage through the
JetStream stream as well as the core subscribers; queries and the health check are served
by one member of a queue group.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

from ollamon_core import subjects
from ollamon_core.events import ServiceName, Severity

_REQUESTS = subjects.requests_subject("fault:model")
_SCORES = subjects.scores_subject("fault:model")
_ALERTS = subjects.alerts_subject(Severity.HIGH)
_HEARTBEAT = subjects.heartbeat_subject(ServiceName.CLI)
_STREAM_READERS = ("alerting", "storage", "gateway")

CONSUMERS: dict[str, tuple[str, ...]] = {
    _REQUESTS: _STREAM_READERS,
    subjects.SYSTEM: ("probe", *_STREAM_READERS),  # the probe: a request's GPU utilisation
    subjects.OLLAMA_HEALTH: _STREAM_READERS,
    subjects.OLLAMA_LIFECYCLE: _STREAM_READERS,
    subjects.OLLAMA_MODELS: ("collector", *_STREAM_READERS),
    _ALERTS: ("storage", "gateway", "notifier"),  # the notifier through its durable
    _SCORES: ("storage", "gateway"),
    _HEARTBEAT: ("alerting", "gateway"),  # alerting watches spool backlogs in heartbeats
    subjects.CONTROL_MONITORING: ("collector", "probe", "gateway"),
    subjects.CONTROL_THRESHOLD: ("alerting", "gateway"),
    subjects.CONTROL_SILENCE: ("alerting", "gateway"),
    subjects.CONTROL_HEALTH_CHECK.subject: ("probe",),
    subjects.AUDIT_ALERTING: ("storage", "gateway"),
    subjects.notifications_subject("fault-receiver"): ("storage", "gateway"),
    subjects.CONTROL_ACK.subject: ("alerting",),
    subjects.CONTROL_SILENCES.subject: ("alerting",),
    subjects.CONTROL_THRESHOLDS.subject: ("alerting",),
    **{subject: ("storage",) for subject in subjects.QUERY_ROUTES if "query" in subject},
}

# Invalid for every model: not JSON, not an object, wrong types, unknown fields, bad bytes.
SMALL_PAYLOADS: tuple[bytes, ...] = (
    b"",
    b"not json at all",
    b'{"model_name": "truncated',
    b"[]",
    b"null",
    b"42",
    b'"a string"',
    b'{"unexpected_field": 1}',
    b'{"model_name": 5, "response_time_ms": "fast", "interval_seconds": -1}',
    b"\xff\xfe\xfd\x00\x80",
    b"[" * 5000 + b"]" * 5000,
    b'{"event_id": "", "timestamp": "yesterday", "host": ""}',
    b'{"kind": "heartbeat"} trailing',
    b'{"response_time_ms": NaN}',
    b"\x00" * 65536,
)


def payloads(count: int, large: int, max_payload: int) -> Iterator[bytes]:
    """`count` malformed payloads: the small ones in turn, and `large` of exactly
    `max_payload` bytes (the biggest the server accepts)."""
    for index in range(count - large):
        yield SMALL_PAYLOADS[index % len(SMALL_PAYLOADS)]
    oversized_json = b'{"model_name": "' + b"x" * max_payload
    for _ in range(large):
        yield oversized_json[: max_payload - 1] + b"}"


def expected_per_service(per_subject: int) -> Counter[str]:
    """Messages each service should count as invalid when every subject gets `per_subject`."""
    expected: Counter[str] = Counter()
    for readers in CONSUMERS.values():
        for service in readers:
            expected[service] += per_subject
    return expected
