"""The tables of `ollamon status` and `ollamon top`, drawn from one `Snapshot` (pure).

Rendering takes the snapshot and the time, and returns rich renderables: the tests print
them into text without a terminal, a stack or a clock.
"""

from __future__ import annotations

from datetime import UTC, datetime

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from ollamon_cli.gateway_api import Snapshot
from ollamon_cli.terminal import SEVERITY_STYLES
from ollamon_core.events import OllamaModelsSnapshot

GB = 1024**3
NONE = "-"
NUMERIC_ENDINGS = ("%", "/s", " ms", " GB", " MB", " age")
NUMERIC_COLUMNS = frozenset({"requests", "errors", "score", "spooled", "dropped", "unsent"})
BACKLOG_COUNTERS = (
    "spool_events",
    "spool_bytes",
    "spool_oldest_age_seconds",
    "spool_dropped",
    "outbox_dropped",
    "publish_unsent",
)


def _table(title: str, *columns: str) -> Table:
    table = Table(title=title, title_justify="left", title_style="bold", expand=False)
    for column in columns:
        numeric = column.endswith(NUMERIC_ENDINGS) or column in NUMERIC_COLUMNS
        table.add_column(column, justify="right" if numeric else "left", overflow="fold")
    return table


def _number(value: float | None, digits: int = 0) -> str:
    return NONE if value is None else f"{value:,.{digits}f}"


def _age(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def bar(percent: float | None, width: int = 12) -> Text:
    """A meter in the style of htop: filled cells, then the percentage; green, yellow, red."""
    if percent is None:
        return Text(NONE)
    filled = round(max(0.0, min(percent, 100.0)) / 100 * width)
    style = "green" if percent < 70 else "yellow" if percent < 90 else "bold red"
    text = Text("█" * filled, style=style)
    text.append("░" * (width - filled), style="dim")
    text.append(f" {percent:5.1f}%")
    return text


def services_table(snapshot: Snapshot) -> Table:
    """Each service seen: host, state, version, heartbeat age, alive."""
    table = _table("Services", "service", "host", "state", "version", "heartbeat age", "alive")
    for service in snapshot.status.services:
        table.add_row(
            service.service,
            service.host,
            service.state,
            service.version,
            _age(service.heartbeat_age_seconds),
            Text("yes", style="green") if service.alive else Text("STALE", style="bold red"),
        )
    for name in snapshot.status.missing_services:
        if not any(s.service == name for s in snapshot.status.services):
            table.add_row(name, NONE, NONE, NONE, NONE, Text("MISSING", style="bold red"))
    return table


def ollama_table(snapshot: Snapshot) -> Table:
    """Each Ollama server: host, URL, up, version, answer time, error."""
    table = _table("Ollama", "host", "url", "up", "version", "answer ms", "error")
    for health in snapshot.status.ollama:
        table.add_row(
            health.host,
            health.ollama_url,
            Text("up", style="green") if health.up else Text("DOWN", style="bold red"),
            health.version or NONE,
            _number(health.response_time_ms),
            health.error_message or "",
        )
    return table


def hosts_table(snapshot: Snapshot) -> Table:
    """Each host's latest sample: CPU, memory, GPU utilisation and VRAM, models loaded."""
    table = _table("Hosts", "host", "reporting", "CPU", "memory", "GPU", "VRAM", "loaded")
    for host in snapshot.summary.hosts if snapshot.summary else []:
        system = host.latest_system
        vram: Text | str = NONE
        if system and system.gpu_memory_total_gb:
            used = system.gpu_memory_used_gb or 0.0
            vram = bar(100 * used / system.gpu_memory_total_gb)
            vram.append(f" {used:.1f}/{system.gpu_memory_total_gb:.1f} GB")
        table.add_row(
            host.host,
            Text("yes", style="green") if host.reporting else Text("no", style="bold red"),
            bar(system.cpu_usage_percent) if system else NONE,
            bar(system.memory_usage_percent) if system else NONE,
            bar(system.gpu_usage_percent) if system and host.gpu_available else NONE,
            vram,
            str(system.models_loaded) if system else NONE,
        )
    return table


def bypass_line(snapshot: Snapshot) -> Text | None:
    """ "N requests bypassed the proxy" over the summary's period, per host; None when none
    did (or no probe follows Ollama's log: OLLAMON_OLLAMA_LOG_PATH)."""
    summary = snapshot.summary
    if summary is None or not summary.bypassed_requests:
        return None
    hosts = ", ".join(
        f"{host.host}: {host.bypassed_requests:,}"
        for host in summary.hosts
        if host.bypassed_requests
    )
    count = summary.bypassed_requests
    text = Text(f"{count:,} request{'s' if count != 1 else ''} bypassed the proxy", style="yellow")
    if hosts:
        text.append(f" ({hosts})", style="dim")
    return text


def _expires(snapshot_time: datetime, expires_at: datetime | None, now: datetime) -> str:
    if expires_at is None:
        return NONE
    seconds = (expires_at - now).total_seconds()
    return "now" if seconds <= 0 else f"in {_age(seconds)}"


def loaded_table(snapshot: Snapshot, now: datetime) -> Table:
    """What each Ollama holds in memory now: size, share in VRAM, expiry."""
    table = _table("Loaded models", "host", "model", "size GB", "in VRAM %", "context", "expires")
    shots: list[OllamaModelsSnapshot] = [snapshot.loaded[key] for key in sorted(snapshot.loaded)]
    for shot in shots:
        for model in shot.loaded:
            share = 100 * model.size_vram_bytes / model.size_bytes if model.size_bytes else None
            table.add_row(
                shot.host,
                model.name,
                _number(model.size_bytes / GB, 1),
                Text(_number(share), style="yellow" if share is not None and share < 100 else ""),
                _number(model.context_length),
                _expires(shot.timestamp, model.expires_at, now),
            )
    return table


def models_table(snapshot: Snapshot, window_seconds: float | None) -> Table:
    """Per (host, model) over the summary's period: requests (per second over a window
    given), errors, p95 response time and TTFT, tokens/s, score."""
    first = "req/s" if window_seconds else "requests"
    table = _table(
        "Models" + (f" (last {_age(window_seconds)})" if window_seconds else " (last hour)"),
        "host",
        "model",
        first,
        "errors",
        "p95 ms",
        "TTFT p95 ms",
        "tok/s",
        "score",
    )
    for model in snapshot.summary.models if snapshot.summary else []:
        count = (
            _number(model.request_count / window_seconds, 2)
            if window_seconds
            else f"{model.request_count:,}"
        )
        table.add_row(
            model.host or NONE,
            model.model_name,
            count,
            Text(str(model.error_count), style="red" if model.error_count else ""),
            _number(model.response_time_p95_ms),
            _number(model.time_to_first_token_p95_ms),
            _number(model.tokens_per_second_mean, 1),
            _number(model.score, 1),
        )
    return table


def alerts_table(snapshot: Snapshot, now: datetime) -> Table:
    """The alerts firing now, most severe first: severity, rule, where, for how long."""
    table = _table("Firing alerts", "severity", "alert", "where", "since", "message")
    order = list(SEVERITY_STYLES)
    active = snapshot.summary.active_alerts if snapshot.summary else []
    for alert in sorted(active, key=lambda a: -order.index(a.severity.value)):
        where = f"{alert.host}/{alert.model_name}" if alert.model_name else alert.host
        table.add_row(
            Text(alert.severity.value, style=SEVERITY_STYLES.get(alert.severity.value, "")),
            alert.alert_type,
            where,
            _age(max(0.0, (now - (alert.starts_at or alert.timestamp)).total_seconds())),
            alert.message,
        )
    return table


def backlog_table(snapshot: Snapshot) -> Table:
    """Events waiting or lost on the way to NATS, per service (the heartbeat counters)."""
    table = _table(
        "Backlog", "service", "host", "spooled", "spool MB", "oldest age", "dropped", "unsent"
    )
    for service in snapshot.status.services:
        counters = service.counters
        if not any(counters.get(name) for name in BACKLOG_COUNTERS):
            continue
        table.add_row(
            service.service,
            service.host,
            _number(counters.get("spool_events", 0)),
            _number(counters.get("spool_bytes", 0) / 1e6, 1),
            _age(counters.get("spool_oldest_age_seconds", 0)),
            _number(counters.get("spool_dropped", 0) + counters.get("outbox_dropped", 0)),
            _number(counters.get("publish_unsent", 0)),
        )
    return table


def _or_note(table: Table, empty: str) -> RenderableType:
    if table.row_count:
        return table
    return Text.assemble((f"{table.title}: ", "bold"), (empty, "dim"))


def headline(snapshot: Snapshot, gateway_url: str, now: datetime) -> Text:
    """One line: gateway, NATS, monitoring, services alive, firing alerts, time."""
    status = snapshot.status
    alive = sum(1 for service in status.services if service.alive)
    firing = len(snapshot.summary.active_alerts) if snapshot.summary else 0
    text = Text.assemble(("ollamon ", "bold"), f"{gateway_url}  ")
    text.append(
        "NATS connected" if status.nats.connected else "NATS DISCONNECTED",
        style="green" if status.nats.connected else "bold red",
    )
    monitoring = status.monitoring
    text.append(
        f"  monitoring {'on' if monitoring.active else 'PAUSED'}"
        + (f" every {monitoring.interval_seconds:g} s" if monitoring.interval_seconds else ""),
        style="" if monitoring.active else "yellow",
    )
    text.append(f"  services alive {alive}", style="green" if not status.missing_services else "")
    if status.missing_services:
        text.append(f", missing {', '.join(status.missing_services)}", style="bold red")
    text.append(f"  firing {firing}", style="bold red" if firing else "green")
    text.append(f"  {now:%Y-%m-%d %H:%M:%S} UTC", style="dim")
    return text


def status_view(snapshot: Snapshot, gateway_url: str, now: datetime | None = None) -> Group:
    """`ollamon status`: everything on one screen."""
    now = now or datetime.now(UTC)
    parts: list[RenderableType] = [headline(snapshot, gateway_url, now)]
    if snapshot.summary_problem:
        parts.append(Text(f"storage's summary: {snapshot.summary_problem}", style="bold red"))
    parts += [
        _or_note(services_table(snapshot), "no heartbeat yet"),
        _or_note(ollama_table(snapshot), "no Ollama health seen yet"),
        _or_note(hosts_table(snapshot), "no host has reported"),
        _or_note(loaded_table(snapshot, now), "none (or the probe has not read /api/ps yet)"),
        _or_note(models_table(snapshot, None), "no request in the last hour"),
        *filter(None, [bypass_line(snapshot)]),
        _or_note(alerts_table(snapshot, now), "none"),
        _or_note(backlog_table(snapshot), "none: nothing spooled, dropped or unsent"),
    ]
    return Group(*parts)


def top_view(
    snapshot: Snapshot, gateway_url: str, window_seconds: float, now: datetime | None = None
) -> Group:
    """`ollamon top`: hosts as meters, models as rates, what is loaded and what fires."""
    now = now or datetime.now(UTC)
    parts: list[RenderableType] = [headline(snapshot, gateway_url, now)]
    if snapshot.summary_problem:
        parts.append(Text(f"storage's summary: {snapshot.summary_problem}", style="bold red"))
    parts += [
        _or_note(hosts_table(snapshot), "no host has reported"),
        _or_note(models_table(snapshot, window_seconds), "no request in the window"),
        _or_note(loaded_table(snapshot, now), "none (or the probe has not read /api/ps yet)"),
        _or_note(alerts_table(snapshot, now), "none"),
        _or_note(backlog_table(snapshot), "none"),
    ]
    return Group(*parts)
