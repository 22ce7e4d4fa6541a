"""`ollamon up`: NATS (embedded unless configured), the services, and where to look.

The embedded NATS server runs with authorization on: one user per service with exactly its
subjects (`ollamon_core.permissions`), an `admin` that creates the streams before the
services start, and a read-only `alerts` user whose login the banner prints. Passwords are
made on first start and kept under the storage path (`credentials.py`).

Before anything starts, `ollamon up` locks its storage path (one stack per data folder) and
checks that its ports are free (`preflight.py`); the services start once NATS answers, and
the embedded server is watched and restarted like a service, and stopped last.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import nats

from ollamon_cli.credentials import StackCredentials, load_or_create_credentials
from ollamon_cli.nats_config import password_variable
from ollamon_cli.nats_server import NatsServer
from ollamon_cli.preflight import (
    PreflightError,
    ServedPort,
    check_ports,
    lock_storage,
    nats_answers,
    ollama_state,
    wait_for_gateway,
)
from ollamon_cli.settings import StackSettings
from ollamon_cli.supervisor import Dependency, ServiceSpec, StackFailedError, Supervisor
from ollamon_core import subjects
from ollamon_core.bus import NatsLogin, ServiceUnavailableError
from ollamon_core.bus.requests import request
from ollamon_core.bus.streams import ensure_streams
from ollamon_core.events import HealthCheckRequest
from ollamon_core.permissions import ADMIN_USER, ALERTS_READER_USER
from ollamon_core.redaction import redact_url
from ollamon_notifier.routing import RoutingError, read_routing
from ollamon_notifier.settings import NotifierSettings

# Storage first: it sets the stream's retention before others publish.
SERVICE_ORDER = ("storage", "alerting", "notifier", "collector", "probe", "gateway")
READY_TIMEOUT_SECONDS = 30.0
EXTERNAL_NATS_TIMEOUT_SECONDS = 15.0
HEALTH_CHECK_TIMEOUT_SECONDS = 10.0


@dataclass
class ExtraProcess:
    """A process supervised beside the services (the demo's emulator and traffic)."""

    name: str
    argv: list[str]
    env: dict[str, str]


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


def service_specs(
    stack_nats: StackNats,
    extra_env: dict[str, str],
    ports: Mapping[str, ServedPort] | None = None,
) -> list[ServiceSpec]:
    """The services, each `python -m ollamon_<name>`, told where NATS is and who they are
    (and, by name, the address each listens on)."""
    env = {**extra_env, "OLLAMON_NATS_URL": stack_nats.url}
    return [
        ServiceSpec(
            name=name,
            argv=[sys.executable, "-m", f"ollamon_{name}"],
            env={**env, **stack_nats.service_env(name)},
            ports=[ports[name]] if ports and name in ports else [],
        )
        for name in SERVICE_ORDER
    ]


def wait_for_port(host: str, port: int, timeout_seconds: float) -> bool:
    """True once something accepts TCP connections on host:port."""
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.1)
    return False


async def create_streams(url: str, login: NatsLogin) -> None:
    """Create the streams as the admin (the services but storage may not)."""
    nc = await nats.connect(url, name="ollamon-stack", **(await login.options()))
    try:
        await ensure_streams(nc.jetstream())
    finally:
        await nc.drain()


async def publish_first_health(url: str, login: NatsLogin, timeout_seconds: float) -> bool:
    """Ask the probe to check Ollama now and publish it, once the gateway listens: the
    probe's own first check at start may come before the gateway subscribed, and the next
    one is a minute away. False when the probe did not answer in time."""
    nc = await nats.connect(url, name="ollamon-stack", **(await login.options()))
    try:
        async with asyncio.timeout(timeout_seconds):
            while True:
                try:
                    await request(nc, subjects.CONTROL_HEALTH_CHECK, HealthCheckRequest())
                    return True
                except ServiceUnavailableError:
                    await asyncio.sleep(0.2)
    except TimeoutError:
        return False
    finally:
        await nc.drain()


def start_nats(settings: StackSettings) -> StackNats:
    """Use OLLAMON_NATS_URL if set, else start nats-server with data under the storage path,
    its users' credentials made or reused, and the streams created."""
    if settings.nats_url:
        if not nats_answers(settings.nats_url, EXTERNAL_NATS_TIMEOUT_SECONDS):
            raise PreflightError(
                f"NATS does not answer at {redact_url(settings.nats_url)}; start it, or unset "
                "OLLAMON_NATS_URL for the embedded server"
            )
        return StackNats(settings.nats_url)
    credentials = load_or_create_credentials(settings.storage_path)
    server = NatsServer(
        settings.storage_path / "nats",
        port=settings.embedded_nats_port,
        config_file=credentials.server_config,
        die_with_parent=True,
    )
    try:
        server.start()
    except RuntimeError as error:
        raise SystemExit(
            f"could not start the embedded NATS server on port {settings.embedded_nats_port} "
            "(set OLLAMON_EMBEDDED_NATS_PORT, or OLLAMON_NATS_URL for a running server):\n"
            f"{error}"
        ) from error
    try:
        asyncio.run(create_streams(server.url, credentials.login(ADMIN_USER)))
    except Exception as error:
        server.stop()
        raise SystemExit(f"could not create the JetStream streams: {error!r}") from error
    return StackNats(server.url, server, credentials)


def alerts_login_lines(stack_nats: StackNats) -> list[str]:
    """How a user's own nats-py client reads alerts (the read-only user), and where the
    other credentials are."""
    if stack_nats.credentials is None:
        return []
    user, password = ALERTS_READER_USER, stack_nats.credentials.passwords[ALERTS_READER_USER]
    connect = f'nats.connect("{stack_nats.url}", user="{user}", password="{password}")'
    return [
        f"  alerts feed   await {connect}",
        "                then subscribe to ollamon.alerts.> (read-only user)",
        f"  NATS users    {stack_nats.credentials.file} (0600; `{ADMIN_USER}` may do anything)",
    ]


def check_notifier_routing() -> None:
    """Refuse to start when the notifier could not use its routing (the file unreadable or
    wrong): one line naming the file, the field and the problem, before anything starts."""
    notifier = NotifierSettings()
    try:
        read_routing(notifier.webhook_urls, notifier.webhook_secret, notifier.routes_file)
    except RoutingError as error:
        raise PreflightError(str(error)) from None


def stack_ports(settings: StackSettings) -> dict[str, ServedPort]:
    """The addresses `ollamon up` will listen on, by who listens, with the setting of each."""
    ports = {
        "gateway": ServedPort(
            "gateway", settings.gateway_host, settings.gateway_port, "OLLAMON_GATEWAY_PORT"
        ),
        "probe": ServedPort(
            "Ollama proxy", settings.proxy_host, settings.proxy_port, "OLLAMON_PROXY_PORT"
        ),
    }
    if not settings.nats_url:
        ports["nats-server"] = ServedPort(
            "embedded NATS", "127.0.0.1", settings.embedded_nats_port, "OLLAMON_EMBEDDED_NATS_PORT"
        )
    return ports


def nats_dependency(server: NatsServer) -> Dependency:
    """The embedded server as the supervisor's dependency: restarted on the same port, store
    and configuration."""
    return Dependency("nats-server", server.exit_code, server.restart, server.stop)


def banner(settings: StackSettings, stack_nats: StackNats, ollama_url: str) -> str:
    """What a user needs to know once the stack is up."""
    gateway = f"http://{settings.gateway_host}:{settings.gateway_port}"
    proxy = f"http://{settings.proxy_host}:{settings.proxy_port}"
    embedded = stack_nats.server is not None
    nats_where = f"embedded, data in {settings.storage_path / 'nats'}" if embedded else "external"
    return "\n".join(
        [
            "ollamon is up",
            f"  dashboard     {gateway}/ollama-performance-dashboard",
            f"  API           {gateway}/api/ai/ollama/performance/summary",
            f"  OpenAPI       {gateway}/schema",
            f"  Ollama proxy  {proxy}  ->  {redact_url(ollama_url)}",
            f"                point clients at it: export OLLAMA_HOST={proxy}",
            f"  Ollama        {ollama_state(ollama_url)}",
            f"  NATS          {stack_nats.url} ({nats_where}); alerts on ollamon.alerts.>",
            *alerts_login_lines(stack_nats),
            f"  database      {settings.storage_path / 'ollamon.db'}",
            "Press Ctrl-C to stop.",
        ]
    )


def run_stack(
    settings: StackSettings,
    *,
    ollama_url: str,
    extra_env: dict[str, str] | None = None,
    extra_processes: Callable[[str], list[ServiceSpec]] | None = None,
) -> int:
    """Start everything, block until Ctrl-C/SIGTERM or a fatal crash, stop NATS last."""
    lock = lock_storage(settings.storage_path)  # held until this process exits
    ports = stack_ports(settings)
    check_ports(list(ports.values()))
    check_notifier_routing()
    try:
        stack_nats = start_nats(settings)
    except KeyboardInterrupt:  # Ctrl-C while NATS starts: it dies with this process
        print("ollamon: stopped", flush=True)
        return 130
    env = {"OLLAMA_PERFORMANCE_STORAGE_PATH": str(settings.storage_path), **(extra_env or {})}
    specs = service_specs(stack_nats, env, ports)
    if extra_processes is not None:
        specs += extra_processes(stack_nats.url)
    dependencies = [] if stack_nats.server is None else [nats_dependency(stack_nats.server)]
    supervisor = Supervisor(
        specs,
        max_restarts=settings.max_restarts,
        report=lambda line: print(line, flush=True),
        dependencies=dependencies,
    )
    signal.signal(signal.SIGINT, supervisor.request_stop)
    signal.signal(signal.SIGTERM, supervisor.request_stop)
    exit_code = 0
    try:
        supervisor.start()
        gateway = f"http://{settings.gateway_host}:{settings.gateway_port}"
        ready = wait_for_gateway(gateway, READY_TIMEOUT_SECONDS) and wait_for_port(
            settings.proxy_host, settings.proxy_port, READY_TIMEOUT_SECONDS
        )
        if ready and stack_nats.credentials is not None:
            admin = stack_nats.credentials.login(ADMIN_USER)
            asyncio.run(publish_first_health(stack_nats.url, admin, HEALTH_CHECK_TIMEOUT_SECONDS))
        if ready:
            print(banner(settings, stack_nats, ollama_url), flush=True)
        else:
            print(
                f"ollamon: the gateway ({gateway}) or the proxy did not answer as ollamon's "
                f"within {READY_TIMEOUT_SECONDS:.0f}s",
                flush=True,
            )
        supervisor.watch()
        print("ollamon: stopping", flush=True)
    except StackFailedError:
        exit_code = 1
    finally:
        supervisor.stop()  # the services, then NATS
        if stack_nats.server is not None:
            stack_nats.server.stop()  # if it was never handed to the supervisor
    print("ollamon: stopped", flush=True)
    lock.close()
    return exit_code
