"""NATS authorization, tried against a real nats-server running the stack's configuration.

Nobody connects without credentials; each user is refused every publish and subscription
its permissions do not name, and is allowed those they do (the server's answer is read
through nats-py's error callback: a refusal is a `-ERR 'Permissions Violation ...'`, which
has arrived once a flush returns). The issue's promises are then checked on what the server
allowed: only the gateway (and the admin) publishes control, only storage answers queries,
only alerting publishes alerts and scores and uses its bucket, nobody but the admin
manages JetStream.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import nats
import nats.errors
import pytest
from nats.aio.client import Client as NatsClient

from ollamon_cli.alerts_tail import tail_alerts
from ollamon_cli.nats_target import NatsTarget
from ollamon_cli.stack import create_streams
from ollamon_core import permissions, subjects
from ollamon_core.bus import Bus, ServiceUnavailableError
from ollamon_core.events import OllamaPerformanceAlert, ServiceName, Severity
from ollamon_core.events.queries import CleanupRequest
from ollamon_core.permissions import ADMIN_USER, ALERTS_READER_USER, JS_API, Permissions
from tests.support.nats_auth import AuthorizedNats, authorized_nats_server
from tests.support.waiting import wait_for_async

STORAGE = subjects.STREAM_EVENTS
DEADLETTER = subjects.STREAM_DEADLETTER
KV_STREAM = f"KV_{subjects.ALERT_STATE_BUCKET}"
DURABLE = subjects.STORAGE_DURABLE


def js_api(*tokens: str) -> str:
    return ".".join((JS_API, *tokens))


class Op(StrEnum):
    PUBLISH = "publish"
    SUBSCRIBE = "subscribe"


# Concrete subjects someone might publish to (or send a request on).
EVENT_PUBLISHES = [
    subjects.requests_subject("llama3.2:1b"),
    subjects.SYSTEM,
    subjects.alerts_subject(Severity.CRITICAL),
    subjects.scores_subject("llama3.2:1b"),
    subjects.OLLAMA_HEALTH,
    subjects.OLLAMA_MODELS,
    subjects.OLLAMA_LIFECYCLE,
    subjects.notifications_subject("ops"),
    subjects.BENCHMARK_RUNS,
    subjects.BENCHMARK_PROGRESS,
]
CONTROL_PUBLISHES = [
    subjects.CONTROL_MONITORING,
    subjects.CONTROL_THRESHOLD,
    subjects.CONTROL_SILENCE,
    subjects.CONTROL_HEALTH_CHECK.subject,
    subjects.CONTROL_BENCHMARK.subject,
    subjects.benchmark_route("gpu-b").subject,
]
# Alerting's management routes (the gateway's REST asks them), apart from storage's queries.
ALERTING_ROUTES = [
    subjects.CONTROL_ACK.subject,
    subjects.CONTROL_SILENCES.subject,
    subjects.CONTROL_THRESHOLDS.subject,
]
QUERY_PUBLISHES = [
    route
    for route in subjects.QUERY_ROUTES
    if route not in (subjects.CONTROL_HEALTH_CHECK.subject, subjects.CONTROL_BENCHMARK.subject)
    and route not in ALERTING_ROUTES
]
SERVICE_PUBLISHES = [
    subject
    for service in ServiceName
    for subject in (subjects.heartbeat_subject(service), subjects.deadletter_subject(service))
]
JETSTREAM_MANAGEMENT = [
    js_api("INFO"),
    js_api("STREAM", "LIST"),
    js_api("STREAM", "NAMES"),
    *(
        js_api("STREAM", verb, stream)
        for stream in (STORAGE, DEADLETTER)
        for verb in ("DELETE", "PURGE")
    ),
    js_api("STREAM", "MSG", "DELETE", STORAGE),
    js_api("STREAM", "CREATE", "ANOTHER"),
    js_api("STREAM", "DELETE", KV_STREAM),
    js_api("STREAM", "PURGE", KV_STREAM),
    js_api("CONSUMER", "CREATE", STORAGE, "someone-else"),
    js_api("CONSUMER", "DURABLE", "CREATE", STORAGE, "someone-else"),
    js_api("CONSUMER", "DELETE", DEADLETTER, "x"),
    js_api("CONSUMER", "LIST", STORAGE),
]
NOTIFIER_OWNED = [
    js_api("CONSUMER", "INFO", STORAGE, subjects.NOTIFIER_DURABLE),
    js_api("CONSUMER", "DELETE", STORAGE, subjects.NOTIFIER_DURABLE),
    js_api("CONSUMER", "CREATE", STORAGE, subjects.NOTIFIER_DURABLE),
    f"$JS.ACK.{STORAGE}.{subjects.NOTIFIER_DURABLE}.1.1.1.1.0",
]
JETSTREAM_OWNED = [
    *(js_api("STREAM", verb, STORAGE) for verb in ("CREATE", "UPDATE", "INFO")),
    js_api("STREAM", "INFO", DEADLETTER),
    js_api("STREAM", "MSG", "GET", STORAGE),
    js_api("CONSUMER", "INFO", STORAGE, DURABLE),
    js_api("CONSUMER", "DELETE", STORAGE, DURABLE),
    js_api("CONSUMER", "DURABLE", "CREATE", STORAGE, DURABLE),
    f"$JS.ACK.{STORAGE}.{DURABLE}.1.1.1.1.0",
    *NOTIFIER_OWNED,
    js_api("STREAM", "CREATE", KV_STREAM),
    js_api("STREAM", "INFO", KV_STREAM),
    f"$KV.{subjects.ALERT_STATE_BUCKET}.threshold.response_time_ms",
]
FORGED_REPLIES = [f"{permissions.inbox_prefix(user)}.forged.1" for user in ("gateway", "probe")]
PUBLISHES = [
    *EVENT_PUBLISHES,
    *CONTROL_PUBLISHES,
    *QUERY_PUBLISHES,
    *ALERTING_ROUTES,
    *SERVICE_PUBLISHES,
    *JETSTREAM_MANAGEMENT,
    *JETSTREAM_OWNED,
    *FORGED_REPLIES,
]
# Subjects (and patterns) someone might subscribe to.
SUBSCRIBES = [
    ">",
    subjects.EVERYTHING,
    *subjects.SUBJECT_MODELS,
    subjects.QUERY_ALL,
    *QUERY_PUBLISHES,
    *ALERTING_ROUTES,
    subjects.CONTROL_HEALTH_CHECK.subject,
    subjects.CONTROL_BENCHMARK.subject,
    subjects.benchmark_route("gpu-b").subject,
    subjects.DEADLETTER_ALL,
    "_INBOX.>",
    *(f"{permissions.inbox_prefix(service.value)}.>" for service in ServiceName),
    f"{JS_API}.>",
    f"$KV.{subjects.ALERT_STATE_BUCKET}.>",
]
# A subject no user but the admin may publish to.
REFUSAL_BARRIER = "refusal-barrier"
BARRIER_TIMEOUT_SECONDS = 5.0
AUTHORIZATION_VIOLATION = re.compile("authorization violation", re.IGNORECASE)
USERS = [user for user in permissions.user_permissions() if user != ADMIN_USER]


def permitted(rules: Permissions, op: Op, subject: str) -> bool:
    """What the table says (nats-server matches a subscription's wildcards as tokens)."""
    patterns = rules.publish if op is Op.PUBLISH else rules.subscribe
    return any(subjects.subject_matches(pattern, subject) for pattern in patterns)


@dataclass(frozen=True)
class Attempt:
    user: str
    op: Op
    subject: str


class RefusalLog:
    """The permission violations the server reported to one connection, in order.

    A flush is no barrier for them (the server may send its PONG first), so each attempt is
    followed by a publish nobody may make: once its refusal is in, any refusal of the
    attempt is in too (the server answers a connection's protocol errors in order).
    """

    def __init__(self) -> None:
        self.refused: list[str] = []
        self._changed = asyncio.Event()
        self._barriers = 0

    async def on_error(self, error: Exception) -> None:
        self.refused.append(str(error).lower())
        self._changed.set()

    def refused_since(self, index: int, subject: str) -> bool:
        """Whether `subject` was refused after the first `index` reports (lower-cased)."""
        quoted = f'"{subject.lower()}"'
        return any(quoted in text for text in self.refused[index:])

    async def was_refused(self, nc: NatsClient, index: int, subject: str) -> bool:
        """Whether the attempt on `subject`, made after `index` reports, was refused."""
        self._barriers += 1
        barrier = f"{REFUSAL_BARRIER}.{self._barriers}"
        await nc.publish(barrier, b"")
        async with asyncio.timeout(BARRIER_TIMEOUT_SECONDS):
            while not self.refused_since(index, barrier):
                self._changed.clear()
                await self._changed.wait()
        return self.refused_since(index, subject)


async def try_everything(nc: NatsClient, log: RefusalLog, user: str) -> dict[Attempt, bool]:
    """Every publish and subscription of the catalogue; True where the server allowed it."""
    outcome: dict[Attempt, bool] = {}
    reply = f"{permissions.inbox_prefix(user)}.matrix"
    for subject in PUBLISHES:
        before = len(log.refused)
        await nc.publish(subject, b"", reply=reply)
        outcome[Attempt(user, Op.PUBLISH, subject)] = not await log.was_refused(nc, before, subject)
    for subject in SUBSCRIBES:
        before = len(log.refused)
        subscription = await nc.subscribe(subject)
        refused = await log.was_refused(nc, before, subject)
        outcome[Attempt(user, Op.SUBSCRIBE, subject)] = not refused
        await subscription.unsubscribe()
    return outcome


@pytest.fixture
def authorized(tmp_path: Path) -> Iterator[AuthorizedNats]:
    with authorized_nats_server(tmp_path / "data") as running:
        yield running


@pytest.fixture
async def with_streams(authorized: AuthorizedNats) -> AsyncIterator[AuthorizedNats]:
    await create_streams(authorized.url, authorized.login(ADMIN_USER))
    yield authorized


@pytest.fixture
async def outcomes(with_streams: AuthorizedNats) -> dict[Attempt, bool]:
    """What the server allowed each user, tried by each user in turn."""
    results: dict[Attempt, bool] = {}
    for user in USERS:
        log = RefusalLog()
        nc = await nats.connect(
            with_streams.url,
            user=user,
            password=with_streams.password(user),
            inbox_prefix=permissions.inbox_prefix(user),
            error_cb=log.on_error,
            allow_reconnect=False,
        )
        try:
            results |= await try_everything(nc, log, user)
        finally:
            await nc.close()
    return results


def allowed(outcomes: dict[Attempt, bool], op: Op, subject: str) -> set[str]:
    return {a.user for a, ok in outcomes.items() if ok and a.op is op and a.subject == subject}


async def test_a_client_without_credentials_cannot_connect(authorized: AuthorizedNats) -> None:
    with pytest.raises(nats.errors.Error, match=AUTHORIZATION_VIOLATION):
        await nats.connect(authorized.url, allow_reconnect=False)


async def test_a_client_with_a_wrong_password_cannot_connect(authorized: AuthorizedNats) -> None:
    with pytest.raises(nats.errors.Error, match=AUTHORIZATION_VIOLATION):
        await nats.connect(
            authorized.url, user=ADMIN_USER, password="not-the-password", allow_reconnect=False
        )


def test_the_server_refuses_exactly_what_each_users_permissions_do_not_name(
    outcomes: dict[Attempt, bool],
) -> None:
    table = permissions.user_permissions()
    disagreements = []
    for attempt, ok in outcomes.items():
        rules = table[attempt.user]
        assert rules is not None
        if ok != permitted(rules, attempt.op, attempt.subject):
            disagreements.append(f"{attempt} {'allowed' if ok else 'refused'}")
    assert not disagreements
    assert not all(outcomes.values()) and any(outcomes.values())


def test_only_the_gateway_publishes_control_and_the_probe_answers_health_checks(
    outcomes: dict[Attempt, bool],
) -> None:
    assert allowed(outcomes, Op.PUBLISH, subjects.CONTROL_MONITORING) == {"gateway"}
    assert allowed(outcomes, Op.PUBLISH, subjects.CONTROL_HEALTH_CHECK.subject) == {"gateway"}
    # Thresholds and silences: the gateway (REST management) and the admin (operators).
    for subject in (subjects.CONTROL_THRESHOLD, subjects.CONTROL_SILENCE):
        assert allowed(outcomes, Op.PUBLISH, subject) == {"gateway"}
    assert allowed(outcomes, Op.SUBSCRIBE, subjects.CONTROL_HEALTH_CHECK.subject) == {"probe"}
    # Alerting answers its management routes; only the gateway asks them.
    for subject in ALERTING_ROUTES:
        assert allowed(outcomes, Op.SUBSCRIBE, subject) == {"alerting"}, subject
        assert allowed(outcomes, Op.PUBLISH, subject) == {"gateway"}, subject


def test_only_the_probe_runs_benchmarks_which_the_gateway_and_the_cli_ask_and_follow(
    outcomes: dict[Attempt, bool],
) -> None:
    # Any probe's route, and one host's (`benchmark --host`, a POST naming the host).
    for route in (subjects.CONTROL_BENCHMARK, subjects.benchmark_route("gpu-b")):
        assert allowed(outcomes, Op.SUBSCRIBE, route.subject) == {"probe"}, route.subject
        assert allowed(outcomes, Op.PUBLISH, route.subject) == {"gateway", "cli"}, route.subject
    for subject in (subjects.BENCHMARK_RUNS, subjects.BENCHMARK_PROGRESS):
        assert allowed(outcomes, Op.PUBLISH, subject) == {"probe"}, subject
        assert {"gateway", "cli"} <= allowed(outcomes, Op.SUBSCRIBE, subject), subject


def test_only_storage_answers_queries_and_only_the_gateway_and_cli_ask(
    outcomes: dict[Attempt, bool],
) -> None:
    also_asking = {
        subjects.QUERY_BACKUP.subject: {"cli"},
        # The alerts firing: the notifier at its start, `ollamon alerts` before it follows.
        subjects.QUERY_ALERTS.subject: {"notifier", "cli"},
        # How a run compares with earlier ones: `ollamon benchmark` after its run.
        subjects.QUERY_BENCHMARKS.subject: {"cli"},
    }
    for subject in QUERY_PUBLISHES:
        assert allowed(outcomes, Op.SUBSCRIBE, subject) == {"storage"}, subject
        askers = {"gateway", *also_asking.get(subject, set())}
        assert allowed(outcomes, Op.PUBLISH, subject) == askers, subject


def test_the_probe_publishes_its_events_and_no_control_query_or_alert(
    outcomes: dict[Attempt, bool],
) -> None:
    probe = {
        a.subject for a, ok in outcomes.items() if ok and a.user == "probe" and a.op is Op.PUBLISH
    }
    assert subjects.requests_subject("llama3.2:1b") in probe
    assert not probe & {*CONTROL_PUBLISHES, *QUERY_PUBLISHES}
    assert not probe & {subjects.alerts_subject(Severity.CRITICAL), subjects.SYSTEM}


def test_only_alerting_publishes_alerts_and_scores_and_uses_its_bucket(
    outcomes: dict[Attempt, bool],
) -> None:
    assert allowed(outcomes, Op.PUBLISH, subjects.alerts_subject(Severity.CRITICAL)) == {"alerting"}
    assert allowed(outcomes, Op.PUBLISH, subjects.scores_subject("llama3.2:1b")) == {"alerting"}
    for subject in (js_api("STREAM", "CREATE", KV_STREAM), JETSTREAM_OWNED[-1]):
        assert allowed(outcomes, Op.PUBLISH, subject) == {"alerting"}


def test_nobody_but_the_admin_manages_jetstream_beyond_its_own_calls(
    outcomes: dict[Attempt, bool],
) -> None:
    for subject in JETSTREAM_MANAGEMENT:
        assert allowed(outcomes, Op.PUBLISH, subject) == set(), subject
    storage_owned = [s for s in JETSTREAM_OWNED if DURABLE in s or s.endswith(f"UPDATE.{STORAGE}")]
    for subject in storage_owned:
        assert allowed(outcomes, Op.PUBLISH, subject) == {"storage"}, subject
    assert allowed(outcomes, Op.PUBLISH, js_api("STREAM", "MSG", "GET", STORAGE)) == {"collector"}
    assert allowed(outcomes, Op.SUBSCRIBE, f"{JS_API}.>") == set()


def test_only_the_notifier_publishes_delivery_outcomes_and_manages_its_durable(
    outcomes: dict[Attempt, bool],
) -> None:
    assert allowed(outcomes, Op.PUBLISH, subjects.notifications_subject("ops")) == {"notifier"}
    for subject in NOTIFIER_OWNED:
        assert allowed(outcomes, Op.PUBLISH, subject) == {"notifier"}, subject
    notifier = {
        a.subject
        for a, ok in outcomes.items()
        if ok and a.user == "notifier" and a.op is Op.PUBLISH
    }
    queries = {*QUERY_PUBLISHES} - {subjects.QUERY_ALERTS.subject}
    assert not notifier & {*CONTROL_PUBLISHES, *queries, *JETSTREAM_MANAGEMENT}
    assert subjects.alerts_subject(Severity.CRITICAL) not in notifier


def test_nobody_reads_another_users_replies_or_forges_them(
    outcomes: dict[Attempt, bool],
) -> None:
    assert allowed(outcomes, Op.SUBSCRIBE, "_INBOX.>") == set()
    for service in ServiceName:
        inbox = f"{permissions.inbox_prefix(service.value)}.>"
        assert allowed(outcomes, Op.SUBSCRIBE, inbox) == {service.value}
    for subject in FORGED_REPLIES:
        assert allowed(outcomes, Op.PUBLISH, subject) == set()


def test_the_alerts_reader_may_only_subscribe_to_alerts(outcomes: dict[Attempt, bool]) -> None:
    mine = {a for a, ok in outcomes.items() if ok and a.user == ALERTS_READER_USER}
    assert mine == {Attempt(ALERTS_READER_USER, Op.SUBSCRIBE, subjects.ALERTS_ALL)}


async def test_a_refused_request_is_reported_to_the_bus_and_counted(
    with_streams: AuthorizedNats,
) -> None:
    bus = await Bus.connect(with_streams.url, ServiceName.PROBE, login=with_streams.login("probe"))
    try:
        with pytest.raises(ServiceUnavailableError):
            await bus.request(subjects.QUERY_CLEANUP, CleanupRequest(days_to_keep=30), timeout=0.5)
        await asyncio.wait_for(bus.nc.flush(), 5)
        assert bus.counters["permission_errors"] == 1
    finally:
        await bus.close()


async def test_ollamon_alerts_asks_what_fires_and_follows_alerts_as_the_cli_user(
    with_streams: AuthorizedNats,
) -> None:
    alert = OllamaPerformanceAlert(
        host="gpu-box", alert_type="slow_response", severity=Severity.HIGH, message="slow"
    )
    out = io.StringIO()
    alerting = await Bus.connect(
        with_streams.url, ServiceName.ALERTING, login=with_streams.login("alerting")
    )
    notes = io.StringIO()
    target = NatsTarget.given(with_streams.url, with_streams.login("cli"))
    tail = asyncio.create_task(tail_alerts(target, None, out, notes=notes))
    try:

        async def printed() -> bool:
            await alerting.publish(alert)
            return bool(out.getvalue())

        await wait_for_async(printed, timeout=10, message="the alert printed")
    finally:
        tail.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await tail
        await alerting.close()
    assert "slow_response" in out.getvalue()
    assert alerting.counters["permission_errors"] == 0
    # Its question about what fires reached NATS (no storage here to answer it), unrefused.
    assert "no responders" in notes.getvalue()
