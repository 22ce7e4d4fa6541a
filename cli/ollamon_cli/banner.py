"""What `ollamon up` prints once the stack is up: where to look, for what its role runs."""

from __future__ import annotations

from ollamon_cli.fleet_node import node_domain
from ollamon_cli.preflight import ollama_state
from ollamon_cli.settings import StackSettings
from ollamon_cli.stack_services import SERVICE_ORDER, StackNats
from ollamon_cli.topology import Role, role_services
from ollamon_core.permissions import ADMIN_USER, ALERTS_READER_USER
from ollamon_core.redaction import redact_url
from ollamon_notifier.routing import Routing


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


def notification_lines(routing: Routing | None) -> list[str]:
    """Where alerts go: each receiver by name, kind, and scheme, host and port."""
    if routing is None:
        return []
    if not routing.receivers:
        return [
            "  notifications none: set OLLAMON_ALERT_WEBHOOK_URLS or OLLAMON_NOTIFIER_ROUTES_FILE"
        ]
    described = [f"{r.name} ({r.kind.value}, {r.public_url})" for r in routing.receivers]
    return [f"  notifications {', '.join(described)}"]


def fleet_lines(settings: StackSettings, stack_nats: StackNats, role: Role) -> list[str]:
    """Where an edge or a hub node stands in the fleet."""
    if role is Role.ALL or stack_nats.server is None:
        return []
    domain = node_domain(settings, role)
    if role is Role.EDGE:
        hubs = ", ".join(redact_url(url) for url in settings.hub_leaf_urls)
        return [
            f"  fleet         edge, JetStream domain {domain}, linked to the hub at {hubs}",
            f"                on the hub: OLLAMON_FLEET_EDGES must name {domain}",
        ]
    edges = ", ".join(settings.fleet_edges) or "none yet (OLLAMON_FLEET_EDGES)"
    return [
        f"  fleet         hub node, JetStream domain {domain}, leaf links on "
        f"{settings.cluster_host}:{settings.leafnode_port}; sourcing {edges}",
    ]


def banner(
    settings: StackSettings,
    stack_nats: StackNats,
    ollama_url: str,
    role: Role = Role.ALL,
    routing: Routing | None = None,
) -> str:
    """What a user needs to know once the stack is up (what this role runs)."""
    gateway = f"http://{settings.gateway_host}:{settings.gateway_port}"
    proxy = f"http://{settings.proxy_host}:{settings.proxy_port}"
    embedded = stack_nats.server is not None
    nats_where = f"embedded, data in {settings.storage_path / 'nats'}" if embedded else "external"
    served = role_services(role, SERVICE_ORDER)
    gateway_lines = [
        f"  dashboard     {gateway}/ollama-performance-dashboard",
        f"  API           {gateway}/api/ai/ollama/performance/summary",
        f"  OpenAPI       {gateway}/schema",
    ]
    proxy_lines = [
        f"  Ollama proxy  {proxy}  ->  {redact_url(ollama_url)}",
        f"                point clients at it: export OLLAMA_HOST={proxy}",
        f"  Ollama        {ollama_state(ollama_url)}",
    ]
    return "\n".join(
        [
            "ollamon is up",
            *(gateway_lines if "gateway" in served else []),
            *(proxy_lines if "probe" in served else []),
            f"  NATS          {stack_nats.url} ({nats_where}); alerts on ollamon.alerts.>",
            *alerts_login_lines(stack_nats),
            *(notification_lines(routing) if "notifier" in served else []),
            *fleet_lines(settings, stack_nats, role),
            *(
                [f"  database      {settings.storage_path / 'ollamon.db'}"]
                if "storage" in served
                else []
            ),
            "Press Ctrl-C to stop.",
        ]
    )
