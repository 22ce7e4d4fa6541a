"""The fleet on NATS itself: `ollamon up --role edge|hub|all`.

- **all** (the default): one machine, every service, one embedded nats-server (unchanged).
- **edge**, on each Ollama host: the probe and the collector, and an embedded nats-server
  that is a *leaf node* of the hub with a JetStream domain of its own (`edge-<host label>`)
  and a stream `OLLAMON` of the edge's events (`subjects.EDGE_STREAM_SUBJECTS`). The probe
  and the collector publish into it whether the hub is reachable or not.
- **hub**: storage, alerting (and the notifier) and the gateway, beside a node of the hub's
  cluster (domain `hub`, routes to the other nodes, a leaf-node listener for the edges).
  The hub's stream `OLLAMON` captures what the hub publishes (alerts, scores, ...) and
  *sources* each edge's stream across its domain (`$JS.<edge domain>.API`): JetStream on the
  hub fetches what it has not got yet, so a cut link loses nothing and catches up by itself.
  Live messages still cross the leaf link for alerting and the gateway, but the hub's
  stream never captures the edges' subjects (each event would be stored twice).

Why and what it costs: docs/decisions/0011-fleet-topology.md.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import nats.js.errors
from nats.js import JetStreamContext, api

from ollamon_core import subjects
from ollamon_core.bus.streams import DEFAULT_MAX_AGE_SECONDS, DUPLICATE_WINDOW_SECONDS
from ollamon_core.permissions import LEAF_USER


class Role(StrEnum):
    """What one `ollamon up` runs."""

    ALL = "all"
    EDGE = "edge"
    HUB = "hub"


EDGE_SERVICES = ("collector", "probe")
HUB_DOMAIN = "hub"
HUB_CLUSTER_NAME = "ollamon"  # as deploy/nats/nats-{1,2,3}.conf
EDGE_DOMAIN_PREFIX = "edge-"
# What an edge keeps while its link is down (and after: the hub has its own copy).
EDGE_STREAM_MAX_AGE_SECONDS = 7 * 86400
JETSTREAM_READY_TIMEOUT_SECONDS = 60.0
NODE_CONFIG_FILE = "node.conf"
TLS_TIMEOUT_SECONDS = 2
_UNSAFE_DOMAIN_CHARS = re.compile(r"[^A-Za-z0-9_-]")


def role_services(role: Role, order: Sequence[str]) -> tuple[str, ...]:
    """The services `ollamon up --role` starts, in the stack's order: an edge runs the probe
    and the collector, a hub everything else."""
    if role is Role.EDGE:
        return tuple(name for name in order if name in EDGE_SERVICES)
    if role is Role.HUB:
        return tuple(name for name in order if name not in EDGE_SERVICES)
    return tuple(order)


def domain_token(name: str) -> str:
    """A JetStream domain (one subject token: letters, digits, `_` and `-`)."""
    return _UNSAFE_DOMAIN_CHARS.sub("_", name) or "_"


def edge_domain(host_label: str, configured: str = "") -> str:
    """An edge's domain: the one configured, else `edge-<host label>`."""
    return domain_token(configured or EDGE_DOMAIN_PREFIX + host_label)


def domain_api(domain: str) -> str:
    """The prefix of a domain's JetStream API, as seen from another domain."""
    return f"$JS.{domain}.API"


@dataclass(frozen=True)
class ServerTls:
    """The node's certificate and key, and the CA its peers' certificates must come from."""

    cert: Path
    key: Path
    ca: Path | None = None


def _q(text: str | Path) -> str:
    return json.dumps(str(text))


def _tls_block(indent: str, *, cert: Path | None, key: Path | None, ca: Path | None) -> list[str]:
    lines = [f"{indent}tls {{"]
    if cert is not None and key is not None:
        lines += [f"{indent}  cert_file: {_q(cert)}", f"{indent}  key_file: {_q(key)}"]
    if ca is not None:
        lines.append(f"{indent}  ca_file: {_q(ca)}")
    if cert is not None and ca is not None:
        lines.append(f"{indent}  verify: true")
    lines += [f"{indent}  timeout: {TLS_TIMEOUT_SECONDS}", f"{indent}}}"]
    return lines


def hub_node_config(
    *,
    server_name: str,
    domain: str = HUB_DOMAIN,
    host: str = "127.0.0.1",
    cluster_port: int,
    routes: Sequence[str],
    leafnode_port: int,
    tls: ServerTls | None,
    include: str,
) -> str:
    """A hub node: JetStream domain, the cluster's routes (admitted by certificate with TLS),
    the edges' leaf-node listener (TLS when given; the `leaf` login of `include`), which
    advertises no other node: each edge lists every hub node itself.
    """
    lines = [
        "# A hub node of ollamon's fleet (`ollamon up --role hub`), written at every start.",
        f"server_name: {_q(server_name)}",
        "jetstream {",
        f"  domain: {_q(domain)}",
        "}",
    ]
    if routes:
        lines += [
            "cluster {",
            f"  name: {_q(HUB_CLUSTER_NAME)}",
            f"  listen: {_q(f'{host}:{cluster_port}')}",
            "  routes: [",
            *(f"    {_q(route)}" for route in routes),
            "  ]",
        ]
        if tls is not None:
            lines += _tls_block("  ", cert=tls.cert, key=tls.key, ca=tls.ca)
        lines.append("}")
    lines += [
        "leafnodes {",
        f"  listen: {_q(f'{host}:{leafnode_port}')}",
        "  no_advertise: true",
    ]
    if tls is not None:
        lines += _tls_block("  ", cert=tls.cert, key=tls.key, ca=None)
    lines += ["}", f"include {_q(include)}"]
    return "\n".join(lines) + "\n"


def leaf_url(url: str, password: str) -> str:
    """A hub node's leaf-node address with the `leaf` login in it."""
    parts = urlsplit(url if "://" in url else f"nats-leaf://{url}")
    host = parts.netloc.rsplit("@", 1)[-1]
    netloc = f"{quote(LEAF_USER, safe='')}:{quote(password, safe='')}@{host}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def edge_node_config(
    *,
    server_name: str,
    domain: str,
    hub_leaf_urls: Sequence[str],
    leaf_password: str,
    ca: Path | None,
    include: str,
) -> str:
    """An edge's leaf node: its own JetStream domain, one remote listing every hub node
    (over TLS when the CA is given), logging in as `leaf`. It holds the leaf password:
    written 0600 beside the credentials."""
    lines = [
        "# An edge of ollamon's fleet (`ollamon up --role edge`), written at every start.",
        f"server_name: {_q(server_name)}",
        "jetstream {",
        f"  domain: {_q(domain)}",
        "}",
        "leafnodes {",
        "  remotes: [",
        "    {",
        "      urls: [",
        *(f"        {_q(leaf_url(url, leaf_password))}" for url in hub_leaf_urls),
        "      ]",
    ]
    if ca is not None:
        lines += _tls_block("      ", cert=None, key=None, ca=ca)
    lines += ["    }", "  ]", "}", f"include {_q(include)}"]
    return "\n".join(lines) + "\n"


def hub_stream_subjects() -> list[str]:
    """What the hub's stream captures itself: everything but the edges' subjects, which
    reach it through sourcing only."""
    return [s for s in subjects.STREAM_EVENTS_SUBJECTS if s not in subjects.EDGE_STREAM_SUBJECTS]


def edge_source(domain: str) -> api.StreamSource:
    """The hub stream's source for one edge: that edge's stream, across its domain."""
    return api.StreamSource(
        name=subjects.STREAM_EVENTS, external=api.ExternalStream(api=domain_api(domain))
    )


def merged_sources(
    existing: Iterable[api.StreamSource], domains: Iterable[str]
) -> list[api.StreamSource]:
    """The sources a hub stream keeps (an edge is never dropped by a restart that forgot
    it) plus one per configured edge it does not source yet."""
    sources = list(existing)
    known = {source.external.api for source in sources if source.external is not None}
    for domain in domains:
        if domain_api(domain) not in known:
            sources.append(edge_source(domain))
            known.add(domain_api(domain))
    return sources


async def ensure_edge_streams(js: JetStreamContext) -> None:
    """An edge's streams: its events (`OLLAMON`, the edge's subjects only) and its dead
    letters, which stay on the edge (`nats stream view OLLAMON_DEADLETTER --js-domain ...`)."""
    for name, stream_subjects in (
        (subjects.STREAM_EVENTS, subjects.EDGE_STREAM_SUBJECTS),
        (subjects.STREAM_DEADLETTER, subjects.STREAM_DEADLETTER_SUBJECTS),
    ):
        config = api.StreamConfig(
            name=name,
            subjects=list(stream_subjects),
            storage=api.StorageType.FILE,
            max_age=EDGE_STREAM_MAX_AGE_SECONDS,
            duplicate_window=DUPLICATE_WINDOW_SECONDS,
        )
        await _create_or_update(js, config)


async def ensure_hub_streams(
    js: JetStreamContext, edge_domains: Sequence[str], replicas: int
) -> None:
    """The hub's streams with `replicas` each: the events stream capturing the hub's own
    subjects and sourcing every edge (those it already sources and `edge_domains`), the
    dead letters, and alerting's bucket."""
    try:
        existing = (await js.stream_info(subjects.STREAM_EVENTS)).config
    except nats.js.errors.NotFoundError:
        existing = None
    events = api.StreamConfig(
        name=subjects.STREAM_EVENTS,
        subjects=hub_stream_subjects(),
        sources=merged_sources(existing.sources or [] if existing else [], edge_domains),
        storage=api.StorageType.FILE,
        max_age=existing.max_age if existing and existing.max_age else DEFAULT_MAX_AGE_SECONDS,
        duplicate_window=DUPLICATE_WINDOW_SECONDS,
        num_replicas=replicas,
    )
    await _create_or_update(js, events)
    await _create_or_update(
        js,
        api.StreamConfig(
            name=subjects.STREAM_DEADLETTER,
            subjects=list(subjects.STREAM_DEADLETTER_SUBJECTS),
            storage=api.StorageType.FILE,
            max_age=DEFAULT_MAX_AGE_SECONDS,
            duplicate_window=DUPLICATE_WINDOW_SECONDS,
            num_replicas=replicas,
        ),
    )
    # Alerting binds to the bucket as it is (its own create differs only in the replicas).
    with contextlib.suppress(nats.js.errors.BadRequestError):
        await js.create_key_value(
            bucket=subjects.ALERT_STATE_BUCKET,
            history=1,
            storage=api.StorageType.FILE,
            replicas=replicas,
        )


async def _create_or_update(js: JetStreamContext, config: api.StreamConfig) -> None:
    try:
        await js.add_stream(config)
    except nats.js.errors.BadRequestError:
        await js.update_stream(config)
