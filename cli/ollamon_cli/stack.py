"""`ollamon up`: NATS (embedded unless configured), the five services, and where to look."""

from __future__ import annotations

import signal
import socket
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

from ollamon_cli.nats_server import NatsServer
from ollamon_cli.settings import StackSettings
from ollamon_cli.supervisor import ServiceSpec, StackFailedError, Supervisor
from ollamon_core.redaction import redact_url

# Storage first: it sets the stream's retention before others publish.
SERVICE_ORDER = ("storage", "alerting", "collector", "probe", "gateway")
READY_TIMEOUT_SECONDS = 30.0


@dataclass
class ExtraProcess:
    """A process supervised beside the services (the demo's emulator and traffic)."""

    name: str
    argv: list[str]
    env: dict[str, str]


def service_specs(nats_url: str, extra_env: dict[str, str]) -> list[ServiceSpec]:
    """The five services, each `python -m ollamon_<name>`, told where NATS is."""
    env = {**extra_env, "OLLAMON_NATS_URL": nats_url}
    return [
        ServiceSpec(name=name, argv=[sys.executable, "-m", f"ollamon_{name}"], env=env)
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


def start_nats(settings: StackSettings) -> tuple[str, NatsServer | None]:
    """Use OLLAMON_NATS_URL if set, else start nats-server with data under the storage path."""
    if settings.nats_url:
        return settings.nats_url, None
    server = NatsServer(settings.storage_path / "nats", port=settings.embedded_nats_port)
    try:
        server.start()
    except RuntimeError as error:
        raise SystemExit(
            f"could not start the embedded NATS server on port {settings.embedded_nats_port} "
            "(set OLLAMON_EMBEDDED_NATS_PORT, or OLLAMON_NATS_URL for a running server):\n"
            f"{error}"
        ) from error
    return server.url, server


def banner(settings: StackSettings, nats_url: str, embedded: bool, ollama_url: str) -> str:
    """What a user needs to know once the stack is up."""
    gateway = f"http://{settings.gateway_host}:{settings.gateway_port}"
    proxy = f"http://{settings.proxy_host}:{settings.proxy_port}"
    nats_where = f"embedded, data in {settings.storage_path / 'nats'}" if embedded else "external"
    return "\n".join(
        [
            "ollamon is up",
            f"  dashboard     {gateway}/ollama-performance-dashboard",
            f"  API           {gateway}/api/ai/ollama/performance/summary",
            f"  OpenAPI       {gateway}/schema",
            f"  Ollama proxy  {proxy}  ->  {redact_url(ollama_url)}",
            f"                point clients at it: export OLLAMA_HOST={proxy}",
            f"  NATS          {nats_url} ({nats_where}); alerts on ollamon.alerts.>",
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
    settings.storage_path.mkdir(parents=True, exist_ok=True)
    nats_url, nats_server = start_nats(settings)
    env = {"OLLAMA_PERFORMANCE_STORAGE_PATH": str(settings.storage_path), **(extra_env or {})}
    specs = service_specs(nats_url, env)
    if extra_processes is not None:
        specs += extra_processes(nats_url)
    supervisor = Supervisor(specs, max_restarts=settings.max_restarts)
    signal.signal(signal.SIGINT, supervisor.request_stop)
    signal.signal(signal.SIGTERM, supervisor.request_stop)
    exit_code = 0
    try:
        supervisor.start()
        ready = wait_for_port(
            settings.gateway_host, settings.gateway_port, READY_TIMEOUT_SECONDS
        ) and wait_for_port(settings.proxy_host, settings.proxy_port, READY_TIMEOUT_SECONDS)
        if ready:
            print(banner(settings, nats_url, nats_server is not None, ollama_url), flush=True)
        else:
            print("ollamon: gateway or proxy did not open its port in time", flush=True)
        supervisor.watch()
        print("ollamon: stopping", flush=True)
    except StackFailedError:
        exit_code = 1
    finally:
        supervisor.stop()
        if nats_server is not None:
            nats_server.stop()
    print("ollamon: stopped", flush=True)
    return exit_code
