"""The embedded nats-server of an edge or a hub node, and the streams each role needs.

`ollamon up --role edge|hub` (`topology.py` says what each role is). The node's
configuration is written at every start beside the credentials (`nats-auth/node.conf`,
0600: an edge's holds the hub's `leaf` password) and includes their `server.conf`.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable, Mapping

import nats
import nats.errors
import nats.js.errors
from pydantic import SecretStr

from ollamon_cli.credentials import StackCredentials, load_or_create_credentials, write_private
from ollamon_cli.nats_config import password_variable
from ollamon_cli.nats_server import NatsServer
from ollamon_cli.preflight import PreflightError, ServedPort
from ollamon_cli.settings import StackSettings
from ollamon_cli.topology import (
    HUB_DOMAIN,
    JETSTREAM_READY_TIMEOUT_SECONDS,
    NODE_CONFIG_FILE,
    Role,
    ServerTls,
    domain_token,
    edge_domain,
    edge_node_config,
    ensure_edge_streams,
    ensure_hub_streams,
    hub_node_config,
)
from ollamon_core.bus import NatsLogin
from ollamon_core.permissions import ADMIN_USER, hub_user_permissions

LOOPBACK = ("127.0.0.1", "::1", "localhost")


def node_domain(settings: StackSettings, role: Role) -> str:
    """The JetStream domain of this node."""
    if role is Role.EDGE:
        return edge_domain(settings.host_label, settings.jetstream_domain)
    return domain_token(settings.jetstream_domain or HUB_DOMAIN)


def node_name(settings: StackSettings, role: Role) -> str:
    """The server name: the configured one, else the role and the host label."""
    return settings.nats_server_name or domain_token(f"{role.value}-{settings.host_label}")


def server_tls(settings: StackSettings) -> ServerTls | None:
    """The hub node's certificate, or None; beyond loopback a hub node must have one."""
    if settings.fleet_tls_cert is not None and settings.fleet_tls_key is not None:
        return ServerTls(settings.fleet_tls_cert, settings.fleet_tls_key, settings.fleet_tls_ca)
    if settings.cluster_host not in LOOPBACK:
        raise PreflightError(
            f"the hub's routes and leaf links would listen on {settings.cluster_host} without "
            "TLS: set OLLAMON_FLEET_TLS_CERT and OLLAMON_FLEET_TLS_KEY (deploy/README.md, "
            "'TLS certificates'), or OLLAMON_CLUSTER_HOST=127.0.0.1"
        )
    return None


def node_ports(settings: StackSettings, role: Role) -> list[ServedPort]:
    """What a hub node listens on besides its clients' port (an edge: nothing more)."""
    if role is not Role.HUB or settings.nats_url:
        return []
    ports = [
        ServedPort(
            "hub leaf links", settings.cluster_host, settings.leafnode_port, "OLLAMON_LEAFNODE_PORT"
        )
    ]
    if settings.cluster_routes:
        ports.append(
            ServedPort(
                "hub cluster routes",
                settings.cluster_host,
                settings.cluster_port,
                "OLLAMON_CLUSTER_PORT",
            )
        )
    return ports


def write_node_config(settings: StackSettings, role: Role, credentials: StackCredentials) -> None:
    """This node's configuration (0600), including the credentials' `server.conf`."""
    include = credentials.server_config.name
    if role is Role.HUB:
        text = hub_node_config(
            server_name=node_name(settings, role),
            domain=node_domain(settings, role),
            host=settings.cluster_host,
            cluster_port=settings.cluster_port,
            routes=settings.cluster_routes,
            leafnode_port=settings.leafnode_port,
            tls=server_tls(settings),
            include=include,
        )
    else:
        if not settings.hub_leaf_urls or settings.leaf_password is None:
            raise PreflightError(
                "an edge links to its hub: set OLLAMON_HUB_LEAF_URLS (every hub node's "
                "leaf address) and OLLAMON_NATS_PASSWORD_LEAF (README, 'Add a host in "
                "three steps')"
            )
        text = edge_node_config(
            server_name=node_name(settings, role),
            domain=node_domain(settings, role),
            hub_leaf_urls=settings.hub_leaf_urls,
            leaf_password=settings.leaf_password.get_secret_value(),
            ca=settings.fleet_tls_ca,
            include=include,
        )
    write_private(credentials.folder / NODE_CONFIG_FILE, text)


def node_server(settings: StackSettings, role: Role) -> tuple[NatsServer, StackCredentials]:
    """The edge's or hub node's nats-server (not started) and its users' credentials (a hub
    node's include the edges' `leaf`)."""
    table = hub_user_permissions() if role is Role.HUB else None
    credentials = load_or_create_credentials(settings.storage_path, table)
    write_node_config(settings, role, credentials)
    server = NatsServer(
        settings.storage_path / "nats",
        port=settings.embedded_nats_port,
        config_file=credentials.folder / NODE_CONFIG_FILE,
        die_with_parent=True,
    )
    return server, credentials


async def _retrying(call: Callable[[], Awaitable[None]], timeout_seconds: float) -> None:
    """`call` until it succeeds: a cluster takes streams once a quorum of its nodes has
    elected a leader (and one with 3 replicas once three nodes are known)."""
    deadline = time.monotonic() + timeout_seconds
    while True:
        try:
            await call()
            return
        except (nats.errors.Error, nats.js.errors.Error):
            if time.monotonic() >= deadline:
                raise
            await asyncio.sleep(0.5)


async def create_role_streams(
    url: str, login: NatsLogin, settings: StackSettings, role: Role
) -> None:
    """As the admin: an edge's own streams, or the hub's (replicated, sourcing the edges)."""
    nc = await nats.connect(url.split(","), name="ollamon-stack", **(await login.options()))
    try:
        js = nc.jetstream()
        if role is Role.EDGE:
            await _retrying(lambda: ensure_edge_streams(js), JETSTREAM_READY_TIMEOUT_SECONDS)
        else:
            domains = list(settings.fleet_edges)
            await _retrying(
                lambda: ensure_hub_streams(js, domains, settings.stream_replicas),
                JETSTREAM_READY_TIMEOUT_SECONDS,
            )
    finally:
        await nc.drain()


def prepare_external(
    settings: StackSettings, role: Role, environ: Mapping[str, str] = os.environ
) -> None:
    """A role on NATS servers run by the operator (`OLLAMON_NATS_URL`): create the role's
    streams as the admin when `OLLAMON_NATS_PASSWORD_ADMIN` is given. A hub must: else
    storage would create a single box's stream, capturing the edges' subjects itself."""
    if role is Role.ALL:
        return
    password = environ.get(password_variable(ADMIN_USER))
    if password is None:
        if role is Role.HUB:
            raise PreflightError(
                "--role hub on your own NATS servers creates the hub's streams as the NATS "
                f"admin: set {password_variable(ADMIN_USER)}"
            )
        return
    login = NatsLogin(ADMIN_USER, SecretStr(password), settings.nats_tls_ca)
    asyncio.run(create_role_streams(settings.nats_url, login, settings, role))
