"""A fleet on loopback, the way README's "Add a host in three steps" builds one.

- the hub: a three-node NATS cluster (TLS routes admitted by certificate, JetStream domain
  `hub`, streams with 3 replicas): node 1 is `ollamon up --role hub` (storage, alerting,
  notifier, gateway beside its embedded nats-server), nodes 2 and 3 plain nats-servers with
  the configuration `ollamon_cli.topology` renders for a hub node;
- two edges, `host-a` and `host-b`: each `ollamon up --role edge` (probe, collector and a
  leaf nats-server with its own domain) in front of its own Ollama emulator, linked to the
  three hub nodes over TLS through a `CuttableLink`.

Every process has its own ports and store folder. Started once per test module.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from ollamon_cli.credentials import (
    StackCredentials,
    load_or_create_credentials,
    write_private,
)
from ollamon_cli.nats_server import NatsServer, free_port
from ollamon_cli.stack import wait_for_port
from ollamon_cli.topology import ServerTls, edge_domain, hub_node_config
from ollamon_core.permissions import ADMIN_USER, LEAF_USER, hub_user_permissions
from tests.fleet.link import CuttableLink
from tests.support.stack import RunningStack, launch, stop_stack

ROOT = Path(__file__).resolve().parents[2]
HOSTS = ("host-a", "host-b")
HUB_NODES = 3
# Many processes start at once (on two busy cores in CI): the hub's first start waits for
# the cluster's quorum before it creates the streams.
START_TIMEOUT_SECONDS = 180.0
EMULATOR_START_SECONDS = 30.0


@dataclass
class Edge:
    """One Ollama host: its emulator, its `ollamon up --role edge`, its link to the hub."""

    host: str
    emulator: subprocess.Popen[bytes]
    stack: RunningStack
    link: CuttableLink

    @property
    def domain(self) -> str:
        """The edge's JetStream domain."""
        return edge_domain(self.host)

    def admin(self) -> dict[str, str]:
        """nats-py login of the edge's own admin (its server has its own passwords)."""
        return self.stack.nats_login(ADMIN_USER)


@dataclass
class Hub:
    """The hub: node 1 runs `ollamon up --role hub`, nodes 2 and 3 are plain servers."""

    stack: RunningStack
    others: dict[str, NatsServer]
    credentials: StackCredentials
    leaf_ports: list[int] = field(default_factory=list)

    @property
    def gateway_url(self) -> str:
        """The hub's gateway."""
        return self.stack.gateway_url

    def admin(self) -> dict[str, str]:
        """nats-py login of the hub's admin."""
        return {"user": ADMIN_USER, "password": self.credentials.passwords[ADMIN_USER]}

    def node_pid(self, name: str) -> int | None:
        """The process of hub node `name` (node 1's is `ollamon up`'s nats-server child)."""
        if name in self.others:
            process = self.others[name].process
            return None if process is None else process.pid
        for child in psutil.Process(self.stack.process.pid).children():
            with contextlib.suppress(psutil.NoSuchProcess):
                if child.name() == "nats-server" and child.status() != psutil.STATUS_ZOMBIE:
                    return int(child.pid)
        return None

    def kill_node(self, name: str) -> None:
        """SIGKILL hub node `name`."""
        pid = self.node_pid(name)
        assert pid is not None, name
        os.kill(pid, signal.SIGKILL)
        if name in self.others:
            self.others[name].process.wait()  # type: ignore[union-attr]


@dataclass
class Fleet:
    """The hub and the edges, by host label."""

    hub: Hub
    edges: dict[str, Edge]

    def query(self, sql: str, *parameters: object) -> list[tuple[Any, ...]]:
        """A read-only query on the hub storage's SQLite file (from a thread in async code)."""
        uri = f"file:{self.hub.stack.database_path}?mode=ro"
        with contextlib.closing(sqlite3.connect(uri, uri=True, timeout=10)) as db:
            return list(db.execute(sql, parameters))

    def request_rows(self, host: str) -> tuple[int, int]:
        """Stored requests of `host`: rows and distinct event ids."""
        rows = self.query(
            "SELECT COUNT(*), COUNT(DISTINCT event_id) FROM requests WHERE host = ?", host
        )
        return int(rows[0][0]), int(rows[0][1])


def make_certs(folder: Path) -> ServerTls:
    """A private CA and a certificate for 127.0.0.1 (the deploy's own recipe)."""
    subprocess.run(
        [
            "sh",
            str(ROOT / "deploy" / "nats" / "make-certs.sh"),
            str(folder),
            "localhost",
            "127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )
    return ServerTls(folder / "server-cert.pem", folder / "server-key.pem", folder / "ca.pem")


def start_emulator() -> tuple[subprocess.Popen[bytes], str]:
    """An Ollama emulator process (`fast` scenario) on a free port."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "ollama_emulator", "--port", str(port), "--scenario", "fast"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    if not wait_for_port("127.0.0.1", port, EMULATOR_START_SECONDS):
        process.kill()
        raise AssertionError("the Ollama emulator did not listen")
    return process, f"http://127.0.0.1:{port}"


def tls_env(tls: ServerTls) -> dict[str, str]:
    """The certificate settings of a hub node (and the CA for an edge)."""
    return {
        "OLLAMON_FLEET_TLS_CERT": str(tls.cert),
        "OLLAMON_FLEET_TLS_KEY": str(tls.key),
        "OLLAMON_FLEET_TLS_CA": str(tls.ca),
    }


def start_hub(folder: Path, tls: ServerTls) -> Hub:
    """Nodes 2 and 3 first (a cluster takes streams once a quorum is up), then node 1 with
    `ollamon up --role hub`, which creates the streams and starts the services."""
    route_ports = [free_port() for _ in range(HUB_NODES)]
    leaf_ports = [free_port() for _ in range(HUB_NODES)]
    routes = [f"nats-route://127.0.0.1:{port}" for port in route_ports]
    node1 = folder / "hub-1"
    credentials = load_or_create_credentials(node1, hub_user_permissions())
    others: dict[str, NatsServer] = {}
    for index in range(1, HUB_NODES):
        name = f"hub-{index + 1}"
        node = folder / name
        auth = node / "nats-auth"
        auth.mkdir(parents=True)
        shutil.copy(credentials.server_config, auth / credentials.server_config.name)
        config = auth / "node.conf"
        write_private(
            config,
            hub_node_config(
                server_name=name,
                cluster_port=route_ports[index],
                routes=routes,
                leafnode_port=leaf_ports[index],
                tls=tls,
                include=credentials.server_config.name,
            ),
        )
        others[name] = NatsServer(node / "nats", config_file=config)
    threads = [threading.Thread(target=server.start) for server in others.values()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    edges = ",".join(edge_domain(host) for host in HOSTS)
    stack = launch(
        ("up", "--role", "hub"),
        node1,
        "http://127.0.0.1:9",  # the hub has no Ollama of its own
        extra={
            "OLLAMON_HOST_LABEL": "hub",
            "OLLAMON_NATS_SERVER_NAME": "hub-1",
            "OLLAMON_CLUSTER_ROUTES": ",".join(routes),
            "OLLAMON_CLUSTER_PORT": str(route_ports[0]),
            "OLLAMON_LEAFNODE_PORT": str(leaf_ports[0]),
            "OLLAMON_STREAM_REPLICAS": str(HUB_NODES),
            "OLLAMON_FLEET_EDGES": edges,
            **tls_env(tls),
        },
        start_timeout_seconds=START_TIMEOUT_SECONDS,
    )
    return Hub(stack, others, credentials, leaf_ports)


def start_edge(folder: Path, host: str, hub: Hub, tls: ServerTls) -> Edge:
    """`ollamon up --role edge` for `host`, before its own emulator, linked to every hub
    node through a link the test can cut."""
    emulator, ollama_url = start_emulator()
    link = CuttableLink([("127.0.0.1", port) for port in hub.leaf_ports])
    link.restore()
    try:
        stack = launch(
            ("up", "--role", "edge"),
            folder / host,
            ollama_url,
            extra={
                "OLLAMON_HOST_LABEL": host,
                "OLLAMON_HUB_LEAF_URLS": ",".join(
                    f"nats-leaf://127.0.0.1:{port}" for port in link.ports
                ),
                "OLLAMON_NATS_PASSWORD_LEAF": hub.credentials.passwords[LEAF_USER],
                "OLLAMON_FLEET_TLS_CA": str(tls.ca),
            },
            start_timeout_seconds=START_TIMEOUT_SECONDS,
        )
    except BaseException:
        emulator.kill()
        link.cut()
        raise
    return Edge(host, emulator, stack, link)


@contextlib.contextmanager
def running_fleet(folder: Path) -> Iterator[Fleet]:
    """The hub and both edges, stopped in reverse at the end."""
    tls = make_certs(folder / "certs")
    hub = start_hub(folder, tls)
    edges: dict[str, Edge] = {}
    try:
        for host in HOSTS:
            edges[host] = start_edge(folder, host, hub, tls)
        yield Fleet(hub, edges)
    finally:
        for edge in edges.values():
            stop_stack(edge.stack)
            edge.emulator.terminate()
            edge.emulator.wait(10)
            edge.link.cut()
        stop_stack(hub.stack)
        for server in hub.others.values():
            server.stop()
