"""Who may publish and subscribe to what on NATS: one user per service, exactly its subjects.

nats-server enforces it (users with `permissions` in its `authorization` block): `ollamon up`
renders its embedded server's configuration from this table, and
`deploy/nats/auth.conf` is the same table (`ollamon nats-config` prints it). Next to
the services' users there are two more: `admin` (no limits: the stack creates the streams
with it, operators use it for `nats stream ...` and to publish thresholds and silences) and
`alerts`, the read-only user for alert subscribers.

Each service's user may:

- publish its own events, heartbeat and dead letters, and subscribe to what it consumes;
- receive replies only on its own inbox, `_INBOX.<user>.>` (the bus connects with that inbox
  prefix), so nobody reads replies meant for another service;
- call only the JetStream API it needs: every service reads the two streams' info (it
  creates them only where it may); storage, which owns retention, creates and updates
  them and manages its durable consumer and its acks; the notifier its own durable on the
  alerts (delivered to its inbox) and its acks; alerting its key-value bucket; the
  collector reads the stream's last model snapshot. The rest of the API is the admin's.
- answer requests (`allow_responses`, one reply each) only where it serves them: storage
  (`ollamon.query.*`), the probe (`ollamon.control.health_check`, `ollamon.control.benchmark`
  and its host's `ollamon.control.benchmark.<host>`) and alerting (its management routes:
  acknowledgements, silences, thresholds).
"""

from __future__ import annotations

from dataclasses import dataclass

from ollamon_core import subjects
from ollamon_core.events import ServiceName

ADMIN_USER = "admin"
ALERTS_READER_USER = "alerts"

INBOX_ROOT = "_INBOX"
JS_API = "$JS.API"


def inbox_prefix(user: str) -> str:
    """The inbox prefix a user's connection takes, so its replies reach it alone."""
    return f"{INBOX_ROOT}.{user}"


def service_user(service: ServiceName) -> str:
    """The NATS user of a service (its name)."""
    return ServiceName(service).value


@dataclass(frozen=True)
class Permissions:
    """What one NATS user may publish and subscribe to (subjects, with wildcards).

    An empty `publish` means it may publish nothing. `allow_responses` lets it answer the
    requests it receives, once each, whatever their reply subject.
    """

    publish: tuple[str, ...]
    subscribe: tuple[str, ...]
    allow_responses: bool = False


def _js_api(*tokens: str) -> str:
    return ".".join((JS_API, *tokens))


_EVENT_STREAMS = (subjects.STREAM_EVENTS, subjects.STREAM_DEADLETTER)
_KV_STREAM = f"KV_{subjects.ALERT_STATE_BUCKET}"

# Every service reads the streams' info at start (`Bus.ensure_streams`).
STREAM_INFO = tuple(_js_api("STREAM", "INFO", stream) for stream in _EVENT_STREAMS)
# Storage, the owner of retention: create and update the streams.
STREAM_OWNER = tuple(
    _js_api("STREAM", verb, stream) for stream in _EVENT_STREAMS for verb in ("CREATE", "UPDATE")
)


def durable_consumer(durable: str) -> tuple[str, ...]:
    """A durable consumer on the events stream: read, delete, create (both forms of the
    create call), ack."""
    return (
        _js_api("CONSUMER", "INFO", subjects.STREAM_EVENTS, durable),
        _js_api("CONSUMER", "DELETE", subjects.STREAM_EVENTS, durable),
        _js_api("CONSUMER", "CREATE", subjects.STREAM_EVENTS, durable),
        _js_api("CONSUMER", "CREATE", subjects.STREAM_EVENTS, durable, ">"),
        _js_api("CONSUMER", "DURABLE", "CREATE", subjects.STREAM_EVENTS, durable),
        f"$JS.ACK.{subjects.STREAM_EVENTS}.{durable}.>",
    )


# Storage's durable consumer.
STORAGE_CONSUMER = durable_consumer(subjects.STORAGE_DURABLE)
# The notifier's durable consumer of the alerts.
NOTIFIER_CONSUMER = durable_consumer(subjects.NOTIFIER_DURABLE)
# Alerting's key-value bucket: create or bind it, read and write its keys.
ALERT_STATE = (
    _js_api("STREAM", "CREATE", _KV_STREAM),
    _js_api("STREAM", "INFO", _KV_STREAM),
    _js_api("STREAM", "MSG", "GET", _KV_STREAM),
    _js_api("DIRECT", "GET", _KV_STREAM, ">"),
    f"$KV.{subjects.ALERT_STATE_BUCKET}.>",
)
# Alerting answers these management requests (the gateway asks them).
ALERTING_ROUTES = (
    subjects.CONTROL_ACK.subject,
    subjects.CONTROL_SILENCES.subject,
    subjects.CONTROL_THRESHOLDS.subject,
)
# The collector starts from the last model snapshot the stream kept.
LAST_MODELS_SNAPSHOT = (_js_api("STREAM", "MSG", "GET", subjects.STREAM_EVENTS),)


def _service(
    service: ServiceName,
    *,
    publish: tuple[str, ...],
    subscribe: tuple[str, ...],
    allow_responses: bool = False,
) -> Permissions:
    """A service's own subjects, plus what every service does: heartbeat, dead letters,
    stream info, its inbox."""
    return Permissions(
        publish=(
            subjects.heartbeat_subject(service),
            subjects.deadletter_subject(service),
            *STREAM_INFO,
            *publish,
        ),
        subscribe=(f"{inbox_prefix(service_user(service))}.>", *subscribe),
        allow_responses=allow_responses,
    )


SERVICE_PERMISSIONS: dict[ServiceName, Permissions] = {
    ServiceName.COLLECTOR: _service(
        ServiceName.COLLECTOR,
        publish=(subjects.SYSTEM, *LAST_MODELS_SNAPSHOT),
        subscribe=(subjects.CONTROL_MONITORING, subjects.OLLAMA_MODELS),
    ),
    ServiceName.PROBE: _service(
        ServiceName.PROBE,
        publish=(
            subjects.REQUESTS_ALL,
            subjects.OLLAMA_HEALTH,
            subjects.OLLAMA_MODELS,
            subjects.OLLAMA_LIFECYCLE,
            subjects.IN_FLIGHT,
            subjects.BENCHMARK_RUNS,
            subjects.BENCHMARK_PROGRESS,
        ),
        # ollamon.system: the collector's latest sample gives each request its GPU use.
        subscribe=(
            subjects.CONTROL_MONITORING,
            subjects.CONTROL_HEALTH_CHECK.subject,
            subjects.CONTROL_BENCHMARK.subject,
            subjects.CONTROL_BENCHMARK_HOSTS,  # its own host's route
            subjects.SYSTEM,
        ),
        allow_responses=True,
    ),
    ServiceName.ALERTING: _service(
        ServiceName.ALERTING,
        publish=(
            subjects.ALERTS_ALL,
            subjects.SCORES_ALL,
            subjects.AUDIT_ALERTING,
            *ALERT_STATE,
        ),
        subscribe=(
            subjects.REQUESTS_ALL,
            subjects.SYSTEM,
            subjects.OLLAMA_ALL,
            subjects.HEARTBEAT_ALL,  # the spools' backlog (`telemetry_backlog`)
            subjects.CONTROL_THRESHOLD,
            subjects.CONTROL_SILENCE,
            *ALERTING_ROUTES,
        ),
        allow_responses=True,
    ),
    ServiceName.STORAGE: _service(
        ServiceName.STORAGE,
        publish=(*STREAM_OWNER, *STORAGE_CONSUMER),
        subscribe=(subjects.QUERY_ALL,),
        allow_responses=True,
    ),
    ServiceName.GATEWAY: _service(
        ServiceName.GATEWAY,
        publish=(
            subjects.CONTROL_MONITORING,
            subjects.QUERY_ALL,
            subjects.CONTROL_HEALTH_CHECK.subject,
            subjects.CONTROL_BENCHMARK.subject,
            subjects.CONTROL_BENCHMARK_HOSTS,  # a run on one host of the fleet
            # Alerting's management over REST: thresholds, silences, acknowledgements.
            subjects.CONTROL_THRESHOLD,
            subjects.CONTROL_SILENCE,
            *ALERTING_ROUTES,
        ),
        subscribe=tuple(subjects.SUBJECT_MODELS),
    ),
    # The notifier reads the alerts through its durable (delivered to its inbox), asks
    # storage for the alerts firing at its start, and publishes what became of each
    # notification.
    ServiceName.NOTIFIER: _service(
        ServiceName.NOTIFIER,
        publish=(subjects.NOTIFICATIONS_ALL, subjects.QUERY_ALERTS.subject, *NOTIFIER_CONSUMER),
        subscribe=(),
    ),
    # The command line asks storage for a backup (`ollamon backup`) and for the alerts
    # firing now, then follows the alerts (`ollamon alerts`); it asks the probe for a
    # benchmark run and follows its progress and result, and asks storage for past runs
    # (`ollamon benchmark`); nothing else.
    ServiceName.CLI: Permissions(
        publish=(
            subjects.QUERY_BACKUP.subject,
            subjects.QUERY_ALERTS.subject,
            subjects.CONTROL_BENCHMARK.subject,
            subjects.CONTROL_BENCHMARK_HOSTS,  # `ollamon benchmark --host`
            subjects.QUERY_BENCHMARKS.subject,
        ),
        subscribe=(
            f"{inbox_prefix(service_user(ServiceName.CLI))}.>",
            subjects.ALERTS_ALL,
            subjects.BENCHMARK_PROGRESS,
            subjects.BENCHMARK_RUNS,
        ),
    ),
}

# Read-only: alert subscribers (`ollamon alerts`, a user's own nats-py client).
ALERTS_READER_PERMISSIONS = Permissions(publish=(), subscribe=(subjects.ALERTS_ALL,))


def user_permissions() -> dict[str, Permissions | None]:
    """Every NATS user ollamon defines, with its permissions (None: no limits, the admin)."""
    users: dict[str, Permissions | None] = {ADMIN_USER: None}
    users.update({service_user(service): perms for service, perms in SERVICE_PERMISSIONS.items()})
    users[ALERTS_READER_USER] = ALERTS_READER_PERMISSIONS
    return users


# The hub's leaf-node login (`ollamon up --role hub`; docs/decisions/0011-fleet-topology.md).
# An edge's leaf nats-server connects to the hub as `leaf`; for a leaf connection the server
# reads the permissions from the edge's side: `publish` is what the edge may send into the
# hub, `subscribe` what the hub sends to the edge. Not a client of the single box, so it is
# not in `user_permissions()`: only the hub's configuration adds it.
LEAF_USER = "leaf"
# JetStream's own subjects that cross the link while the hub's stream sources an edge's:
# the hub's API calls into the edge's domain, the edge's API replies, the sourced
# messages, and their flow control.
JS_DOMAIN_API_ALL = "$JS.*.API.>"
JS_API_REPLIES = "$JSC.R.>"
JS_SOURCE_DELIVERIES = "$JS.S.>"
JS_FLOW_CONTROL = "$JS.FC.>"
LEAF_PERMISSIONS = Permissions(
    publish=(
        *subjects.EDGE_STREAM_SUBJECTS,  # live, for alerting and the gateway
        subjects.heartbeat_subject(ServiceName.PROBE),
        subjects.heartbeat_subject(ServiceName.COLLECTOR),
        subjects.IN_FLIGHT,  # the probe's requests in flight, for the gateway
        subjects.BENCHMARK_PROGRESS,  # the probe's benchmark runs, step by step
        f"{inbox_prefix(service_user(ServiceName.GATEWAY))}.>",  # the probe's answers
        f"{inbox_prefix(service_user(ServiceName.CLI))}.>",  # `ollamon benchmark --host`
        JS_API_REPLIES,
        JS_SOURCE_DELIVERIES,
    ),
    subscribe=(
        subjects.CONTROL_MONITORING,
        subjects.CONTROL_HEALTH_CHECK.subject,
        subjects.CONTROL_BENCHMARK.subject,
        subjects.CONTROL_BENCHMARK_HOSTS,  # a run on this edge's host alone
        JS_DOMAIN_API_ALL,
        JS_FLOW_CONTROL,
    ),
)


def hub_user_permissions() -> dict[str, Permissions | None]:
    """The users of a hub node: every user of `user_permissions()`, and the edges' `leaf`."""
    return {**user_permissions(), LEAF_USER: LEAF_PERMISSIONS}
