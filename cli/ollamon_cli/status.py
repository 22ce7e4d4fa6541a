"""`ollamon status`: one screen of the stack, read from the gateway (`gateway_api.py`).

Exit status: 0 when every service is alive and every Ollama server answers, 3 when the
gateway answered but something is missing, down or unreadable (a script's health check),
1 when no gateway answers (one line naming the URL and its setting).
"""

from __future__ import annotations

from ollamon_cli.gateway_api import GatewayTarget, Snapshot, client_for, take_snapshot
from ollamon_cli.status_view import status_view
from ollamon_cli.terminal import console_for

STATUS_HOURS = 1.0
DEGRADED_EXIT = 3


def degraded(snapshot: Snapshot) -> bool:
    """A service missing, an Ollama server down, NATS away or storage not answering."""
    status = snapshot.status
    return bool(
        status.missing_services
        or any(not health.up for health in status.ollama)
        or not status.nats.connected
        or snapshot.summary_problem
    )


async def show_status(target: GatewayTarget, token: str | None) -> int:
    """Print the status screen; return the exit status."""
    async with client_for(target, token) as client:
        snapshot = await take_snapshot(client, target, hours=STATUS_HOURS)
    console_for().print(status_view(snapshot, target.url))
    return DEGRADED_EXIT if degraded(snapshot) else 0
