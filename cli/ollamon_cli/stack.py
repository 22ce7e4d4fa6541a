"""`ollamon up`: NATS (embedded unless configured), the services, and where to look.

The embedded NATS server runs with authorization on: one user per service with exactly its
subjects (`ollamon_core.permissions`), an `admin` that creates the streams before the
services start, and a read-only `alerts` user whose login the banner prints. Passwords are
made on first start and kept under the storage path (`credentials.py`).

Before anything starts, `ollamon up` locks its storage path (one stack per data folder) and
checks that its ports are free (`preflight.py`); the services start once NATS answers (in
one process by default, `stack_services.py`), and the embedded server is watched and
restarted like a service, and stopped last. Once the stack is up and the banner printed,
this program hands the watching over to the slim supervisor in the same process
(`handover.py`, `watch.py`).
"""

from __future__ import annotations

import asyncio
import signal
import socket
import time
from collections.abc import Callable

import nats

from ollamon_cli.banner import banner
from ollamon_cli.credentials import load_or_create_credentials
from ollamon_cli.fleet_node import create_role_streams, node_ports, node_server, prepare_external
from ollamon_cli.handover import hand_over
from ollamon_cli.nats_server import NatsServer, embedded_environment
from ollamon_cli.preflight import (
    PreflightError,
    ServedPort,
    check_ports,
    lock_storage,
    nats_answers,
    wait_for_gateway,
)
from ollamon_cli.settings import StackSettings
from ollamon_cli.stack_services import (
    SERVICE_ORDER,
    StackNats,
    service_specs,
    stack_specs,
)
from ollamon_cli.supervisor import Dependency, ServiceSpec, StackFailedError, Supervisor
from ollamon_cli.topology import Role, role_services
from ollamon_core import subjects
from ollamon_core.bus import NatsLogin, ServiceUnavailableError
from ollamon_core.bus.requests import request
from ollamon_core.bus.streams import ensure_streams
from ollamon_core.events import HealthCheckRequest
from ollamon_core.permissions import ADMIN_USER
from ollamon_core.redaction import redact_url
from ollamon_notifier.routing import Routing, RoutingError, read_routing
from ollamon_notifier.settings import NotifierSettings

# Also imported from here by tests and the fleet helpers (SERVICE_ORDER, StackNats and
# service_specs live in stack_services.py).
__all__ = [
    "SERVICE_ORDER",
    "StackNats",
    "create_streams",
    "run_stack",
    "service_specs",
    "stack_ports",
    "wait_for_port",
]

READY_TIMEOUT_SECONDS = 30.0
EXTERNAL_NATS_TIMEOUT_SECONDS = 15.0
HEALTH_CHECK_TIMEOUT_SECONDS = 10.0
WATCH_POLL_SECONDS = 1.0


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


def start_nats(settings: StackSettings, role: Role = Role.ALL) -> StackNats:
    """Use OLLAMON_NATS_URL if set, else start nats-server with data under the storage path,
    its users' credentials made or reused, and the streams created (an edge's or a hub
    node's server and streams with `--role`: `fleet_node.py`)."""
    if settings.nats_url:
        if not nats_answers(settings.nats_url, EXTERNAL_NATS_TIMEOUT_SECONDS):
            raise PreflightError(
                f"NATS does not answer at {redact_url(settings.nats_url)}; start it, or unset "
                "OLLAMON_NATS_URL for the embedded server"
            )
        prepare_external(settings, role)
        return StackNats(settings.nats_url)
    if role is Role.ALL:
        credentials = load_or_create_credentials(settings.storage_path)
        server = NatsServer(
            settings.storage_path / "nats",
            port=settings.embedded_nats_port,
            config_file=credentials.server_config,
            die_with_parent=True,
            environment=embedded_environment(),
        )
    else:
        server, credentials = node_server(settings, role)
    try:
        server.start()
    except RuntimeError as error:
        raise SystemExit(
            f"could not start the embedded NATS server on port {settings.embedded_nats_port} "
            "(set OLLAMON_EMBEDDED_NATS_PORT, or OLLAMON_NATS_URL for a running server):\n"
            f"{error}"
        ) from error
    admin = credentials.login(ADMIN_USER)
    try:
        if role is Role.ALL:
            asyncio.run(create_streams(server.url, admin))
        else:
            asyncio.run(create_role_streams(server.url, admin, settings, role))
    except Exception as error:
        server.stop()
        raise SystemExit(f"could not create the JetStream streams: {error!r}") from error
    return StackNats(server.url, server, credentials)


def check_notifier_routing() -> Routing:
    """Refuse to start when the notifier could not use its routing (the file unreadable or
    wrong): one line naming the file, the field and the problem, before anything starts."""
    notifier = NotifierSettings()
    try:
        return read_routing(notifier.webhook_urls, notifier.webhook_secret, notifier.routes_file)
    except RoutingError as error:
        raise PreflightError(str(error)) from None


def stack_ports(settings: StackSettings, role: Role = Role.ALL) -> dict[str, ServedPort]:
    """The addresses `ollamon up` will listen on, by who listens, with the setting of each
    (an edge serves no gateway, a hub no proxy; a hub node also routes and takes leaf links)."""
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
    served = role_services(role, SERVICE_ORDER)
    ports = {name: port for name, port in ports.items() if name in (*served, "nats-server")}
    ports |= {f"nats-server {port.setting}": port for port in node_ports(settings, role)}
    return ports


def nats_dependency(server: NatsServer) -> Dependency:
    """The embedded server as the supervisor's dependency: restarted on the same port, store
    and configuration."""
    return Dependency("nats-server", server.exit_code, server.restart, server.stop)


def wait_until_ready(settings: StackSettings, role: Role) -> tuple[bool, str]:
    """Whether the gateway answers as ollamon's and the proxy listens (those this role
    serves) within the time; and what was waited for."""
    served = role_services(role, SERVICE_ORDER)
    gateway = f"http://{settings.gateway_host}:{settings.gateway_port}"
    if "gateway" in served and not wait_for_gateway(gateway, READY_TIMEOUT_SECONDS):
        return False, f"the gateway ({gateway})"
    if "probe" in served and not wait_for_port(
        settings.proxy_host, settings.proxy_port, READY_TIMEOUT_SECONDS
    ):
        return False, f"the proxy (http://{settings.proxy_host}:{settings.proxy_port})"
    return True, ""


def run_stack(
    settings: StackSettings,
    *,
    ollama_url: str,
    extra_env: dict[str, str] | None = None,
    extra_processes: Callable[[str], list[ServiceSpec]] | None = None,
    role: Role = Role.ALL,
) -> int:
    """Start everything (`role`'s services), block until Ctrl-C/SIGTERM or a fatal crash,
    stop NATS last."""
    lock = lock_storage(settings.storage_path)  # held until this process exits
    ports = stack_ports(settings, role)
    check_ports(list(ports.values()))
    routing = check_notifier_routing() if "notifier" in role_services(role, SERVICE_ORDER) else None
    try:
        stack_nats = start_nats(settings, role)
    except KeyboardInterrupt:  # Ctrl-C while NATS starts: it dies with this process
        print("ollamon: stopped", flush=True)
        return 130
    env = {"OLLAMA_PERFORMANCE_STORAGE_PATH": str(settings.storage_path), **(extra_env or {})}
    names = role_services(role, SERVICE_ORDER)
    specs = stack_specs(settings.processes, stack_nats, env, ports, names)
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
        ready, silent = wait_until_ready(settings, role)
        if ready and stack_nats.credentials is not None and role is Role.ALL:
            admin = stack_nats.credentials.login(ADMIN_USER)
            asyncio.run(publish_first_health(stack_nats.url, admin, HEALTH_CHECK_TIMEOUT_SECONDS))
        if ready:
            print(banner(settings, stack_nats, ollama_url, role, routing), flush=True)
        else:
            print(
                f"ollamon: {silent} did not answer as ollamon's within "
                f"{READY_TIMEOUT_SECONDS:.0f}s",
                flush=True,
            )
        # From here on the slim supervisor watches, in this same process (`handover.py`);
        # where it cannot (not Linux), this program keeps watching.
        hand_over(supervisor, lock.fileno(), stack_nats.server)
        supervisor.watch(poll_seconds=WATCH_POLL_SECONDS)
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
