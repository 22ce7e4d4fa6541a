"""`ollamon up` hands its running stack to the slim supervisor, a program of its own process.

Starting the stack needs pydantic (settings), nats-py (streams, the first health check),
the notifier's routing and the probe's backend detection; watching it needs none of them,
and what a Python process imported stays in its memory (~55 MB here). So once the stack is
up, `ollamon up` writes what the supervisor watches (each child's pid, command and
environment, the addresses it serves, the embedded server's settings and log pipe, the
storage lock) to an anonymous in-memory file and replaces its program with `python -m
ollamon_cli.watch` (`os.execv`): the same process, pid and children, the lock still held,
~12 MB. SIGINT and SIGTERM are blocked across the exec and handled by the new program, so
a stop asked for meanwhile is not lost. Linux only (memfd); elsewhere `ollamon up` keeps
watching itself. Stdlib only: both programs import it.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ollamon_cli.nats_server import NatsServer
from ollamon_cli.ports import ServedPort
from ollamon_cli.supervisor import ServiceSpec, Supervisor

WATCH_MODULE = "ollamon_cli.watch"
STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM}


@dataclass
class ChildState:
    """A running child and how to start it again."""

    name: str
    pid: int
    argv: list[str]
    env: dict[str, str]
    ports: list[dict[str, Any]] = field(default_factory=list)

    def spec(self) -> ServiceSpec:
        """The child's `ServiceSpec`."""
        ports = [ServedPort(**port) for port in self.ports]
        return ServiceSpec(self.name, self.argv, self.env, ports)


@dataclass
class ServerState:
    """The embedded NATS server: its settings, pid and log pipe."""

    store_dir: str
    host: str
    port: int
    start_timeout_seconds: float
    extra_args: list[str]
    config_file: str | None
    die_with_parent: bool
    pid: int
    log_fd: int
    environment: dict[str, str] = field(default_factory=dict)

    def server(self) -> NatsServer:
        """The `NatsServer`, adopted: watched, restarted and stopped by this program."""
        server = NatsServer(
            Path(self.store_dir),
            host=self.host,
            port=self.port,
            start_timeout_seconds=self.start_timeout_seconds,
            extra_args=self.extra_args,
            config_file=Path(self.config_file) if self.config_file else None,
            die_with_parent=self.die_with_parent,
            environment=self.environment,
        )
        return server.adopt(self.pid, self.log_fd)


@dataclass
class HandOver:
    """Everything the slim supervisor takes over."""

    max_restarts: int
    lock_fd: int
    children: list[ChildState]
    server: ServerState | None

    def to_json(self) -> bytes:
        return json.dumps(asdict(self)).encode()

    @classmethod
    def from_json(cls, data: bytes) -> HandOver:
        raw = json.loads(data)
        return cls(
            max_restarts=raw["max_restarts"],
            lock_fd=raw["lock_fd"],
            children=[ChildState(**child) for child in raw["children"]],
            server=ServerState(**raw["server"]) if raw["server"] else None,
        )


def server_state(server: NatsServer) -> ServerState | None:
    """The server's part of the hand-over, or None when it does not run."""
    log_fd = server.log_fd()
    if server.process is None or log_fd is None or server.process.poll() is not None:
        return None
    return ServerState(
        store_dir=str(server.store_dir),
        host=server.host,
        port=server.port,
        start_timeout_seconds=server.start_timeout_seconds,
        extra_args=list(server.extra_args),
        config_file=str(server.config_file) if server.config_file else None,
        die_with_parent=server.die_with_parent,
        pid=server.process.pid,
        log_fd=log_fd,
        environment=dict(server.environment),
    )


def can_hand_over() -> bool:
    """Linux, where the in-memory file and the children's parent-death signal exist."""
    return sys.platform.startswith("linux") and hasattr(os, "memfd_create")


def hand_over(supervisor: Supervisor, lock_fd: int, server: NatsServer | None) -> None:
    """Replace this program with the slim supervisor, watching what `supervisor` started.

    Returns (having changed nothing) when it cannot: not Linux, a stop already asked for,
    or the embedded server not running; the caller then watches as before.
    """
    if not can_hand_over():
        return
    signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)  # pending across the exec
    state = server_state(server) if server is not None else None
    if supervisor.stop_requested or (server is not None and state is None):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
        return
    children = [
        ChildState(
            name,
            running.process.pid,
            list(running.spec.argv),
            dict(running.spec.env),
            [asdict(port) for port in running.spec.ports],
        )
        for name, running in supervisor.running.items()
    ]
    state_fd = os.memfd_create("ollamon-hand-over")  # never on disk: it holds passwords
    os.write(state_fd, HandOver(supervisor.max_restarts, lock_fd, children, state).to_json())
    os.lseek(state_fd, 0, os.SEEK_SET)
    for fd in (state_fd, lock_fd, *([state.log_fd] if state else [])):
        os.set_inheritable(fd, True)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, [sys.executable, "-m", WATCH_MODULE, str(state_fd)])  # noqa: S606


def read_hand_over(state_fd: int) -> HandOver:
    """The hand-over written by `hand_over` (the file is closed after reading)."""
    with os.fdopen(state_fd, "rb") as state_file:
        return HandOver.from_json(state_file.read())
