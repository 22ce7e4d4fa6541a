"""What `ollamon up` runs its services as: one process for all of them (the default), or
one process per service (`--processes separate`, `OLLAMON_PROCESSES=separate`).

Either way each service logs in to NATS as its own user with its own password: a process
per service gets `OLLAMON_NATS_USER` / `OLLAMON_NATS_PASSWORD`; the one process gets
`OLLAMON_NATS_PASSWORD_<NAME>` for each service and builds each one's settings with its
user and password (`ollamon_cli.services`). Passwords never appear in argv.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from ollamon_cli.credentials import StackCredentials
from ollamon_cli.nats_config import password_variable
from ollamon_cli.nats_server import NatsServer
from ollamon_cli.preflight import ServedPort
from ollamon_cli.supervisor import ServiceSpec

# Storage first: it sets the stream's retention before others publish.
SERVICE_ORDER = ("storage", "alerting", "notifier", "collector", "probe", "gateway")
SHARED_PROCESS_NAME = "services"

Processes = Literal["one", "separate"]


@dataclass
class StackNats:
    """Where the services find NATS, and the credentials of the embedded server (if it is)."""

    url: str
    server: NatsServer | None = None
    credentials: StackCredentials | None = None

    def service_env(self, name: str, environ: Mapping[str, str] = os.environ) -> dict[str, str]:
        """The login of service `name`: its own user on the embedded server; on an external
        one, when `OLLAMON_NATS_PASSWORD_<NAME>` is set, user `name` with that password
        (else the services inherit `OLLAMON_NATS_USER` / `OLLAMON_NATS_PASSWORD`)."""
        if self.credentials is not None:
            password: str | None = self.credentials.passwords[name]
        else:
            password = environ.get(password_variable(name))
        if password is None:
            return {}
        return {"OLLAMON_NATS_USER": name, "OLLAMON_NATS_PASSWORD": password}

    def shared_env(
        self, names: Sequence[str], environ: Mapping[str, str] = os.environ
    ) -> dict[str, str]:
        """The logins of `names` for the one process: `OLLAMON_NATS_PASSWORD_<NAME>` each
        (those `service_env` would give)."""
        env = {}
        for name in names:
            login = self.service_env(name, environ)
            if login:
                env[password_variable(name)] = login["OLLAMON_NATS_PASSWORD"]
        return env


def service_specs(
    stack_nats: StackNats,
    extra_env: dict[str, str],
    ports: Mapping[str, ServedPort] | None = None,
    names: Sequence[str] = SERVICE_ORDER,
) -> list[ServiceSpec]:
    """The services (all, or a role's `names`), each `python -m ollamon_<name>`, told where
    NATS is and who they are (and, by name, the address each listens on)."""
    env = {**extra_env, "OLLAMON_NATS_URL": stack_nats.url}
    return [
        ServiceSpec(
            name=name,
            argv=[sys.executable, "-m", f"ollamon_{name}"],
            env={**env, **stack_nats.service_env(name)},
            ports=[ports[name]] if ports and name in ports else [],
        )
        for name in names
    ]


def shared_spec(
    stack_nats: StackNats,
    extra_env: dict[str, str],
    ports: Mapping[str, ServedPort] | None = None,
    names: Sequence[str] = SERVICE_ORDER,
) -> ServiceSpec:
    """The services (all, or a role's `names`) in one process, `python -m
    ollamon_cli.services NAME...`, with every one's login and the addresses they listen on."""
    env = {**extra_env, "OLLAMON_NATS_URL": stack_nats.url, **stack_nats.shared_env(names)}
    return ServiceSpec(
        name=SHARED_PROCESS_NAME,
        argv=[sys.executable, "-m", "ollamon_cli.services", *names],
        env=env,
        ports=[ports[name] for name in names if ports and name in ports],
    )


def stack_specs(
    processes: Processes,
    stack_nats: StackNats,
    extra_env: dict[str, str],
    ports: Mapping[str, ServedPort] | None = None,
    names: Sequence[str] = SERVICE_ORDER,
) -> list[ServiceSpec]:
    """What the supervisor runs for the services, by `processes`."""
    if processes == "separate":
        return service_specs(stack_nats, extra_env, ports, names)
    return [shared_spec(stack_nats, extra_env, ports, names)] if names else []
