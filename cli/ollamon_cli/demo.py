"""`ollamon demo`: the stack pointed at the Ollama emulator, with demo traffic through the proxy.

For a first look without Ollama: several models, streaming and not, a slow one, failing
ones and one that partly offloads to the CPU, so the dashboard and alerts come alive.
"""

from __future__ import annotations

import sys
from pathlib import Path

from ollamon_cli.settings import StackSettings
from ollamon_cli.stack import run_stack
from ollamon_cli.supervisor import ServiceSpec

# Alert sooner than in production so a newcomer sees the lifecycle within a minute.
DEMO_ENVIRONMENT = {
    "OLLAMON_ALERT_FOR_SECONDS": "10",
    "OLLAMON_ALERT_RESOLVE_SECONDS": "20",
    "OLLAMON_ALERT_SCORE_INTERVAL": "10",
    "OLLAMON_ALERT_RESPONSE_TIME_MS": "8000",
}


def demo_processes(emulator_url: str, proxy_url: str, rate: float) -> list[ServiceSpec]:
    """The emulator and the traffic generator, supervised beside the services."""
    port = emulator_url.rsplit(":", 1)[1]
    return [
        ServiceSpec(
            "emulator",
            [sys.executable, "-m", "ollama_emulator", "--port", port, "--scenario", "demo"],
        ),
        ServiceSpec(
            "traffic",
            [
                sys.executable, "-m", "ollamon_cli.demo_traffic",
                "--base-url", proxy_url, "--rate", str(rate),
            ],
        ),
    ]  # fmt: skip


def demo_storage_path(settings: StackSettings, storage_path: Path | None) -> Path:
    """The demo's data folder: `storage_path` when given, else `demo/` under the storage
    path, so its emulator traffic never mixes with `ollamon up`'s data."""
    return storage_path if storage_path is not None else settings.storage_path / "demo"


def run_demo(
    settings: StackSettings, *, emulator_port: int, rate: float, storage_path: Path | None = None
) -> int:
    """Run the demo until Ctrl-C."""
    settings = settings.model_copy(
        update={"storage_path": demo_storage_path(settings, storage_path)}
    )
    emulator_url = f"http://127.0.0.1:{emulator_port}"
    proxy_url = f"http://{settings.proxy_host}:{settings.proxy_port}"
    print(
        f"ollamon demo: Ollama emulator on {emulator_url}, {rate} requests/s, "
        f"data in {settings.storage_path}",
        flush=True,
    )
    return run_stack(
        settings,
        ollama_url=emulator_url,
        extra_env={"OLLAMON_OLLAMA_URL": emulator_url, **DEMO_ENVIRONMENT},
        extra_processes=lambda _nats_url: demo_processes(emulator_url, proxy_url, rate),
    )
