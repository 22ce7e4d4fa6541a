"""Hosts as a dimension: rollups per (host, model), each host's summary, the fleet roll-up.

Pure code over rows already read: the SQL that reads them is in `queries.py`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from ollamon_core.events import OllamaHealth, OllamaPerformanceAlert, OllamaSystemMetrics
from ollamon_core.events.queries import FleetRollup, HostSummary, ModelSummary
from ollamon_storage.aggregates import datetime_from_ms, gpu_available
from ollamon_storage.rollups import Rollup, RollupKey

REPORTING_WINDOW_SECONDS = 300  # a host with no stored event for this long is not reporting
HEALTH_ROWS_PER_HOST = 16  # the newest health events read per host, for each Ollama URL's latest

HostModel = tuple[str, str]  # host, model_name


@dataclass(frozen=True)
class HostRecord:
    """A row of `hosts`: a label and its first and last stored event."""

    host: str
    first_seen_ms: int
    last_seen_ms: int


@dataclass(frozen=True)
class HostState:
    """What storage read about one host besides its requests."""

    latest_system: OllamaSystemMetrics | None = None
    ollama: tuple[OllamaHealth, ...] = ()


def combine_by_host_model(
    rollups: Iterable[tuple[RollupKey, Rollup]],
) -> dict[HostModel, Rollup]:
    """Merge the buckets of each (host, model); hosts are never merged together."""
    merged: dict[HostModel, Rollup] = {}
    for (_, _, host, model_name), rollup in rollups:
        target = merged.get((host, model_name))
        if target is None:
            target = merged[(host, model_name)] = Rollup()
        target.merge(rollup)
    return merged


def merge_hosts(by_host_model: Mapping[HostModel, Rollup]) -> Rollup:
    """Every host's rollup of one model added together (for a fleet-wide row)."""
    total = Rollup()
    for rollup in by_host_model.values():
        total.merge(rollup)
    return total


def latest_per_url(newest_first: Iterable[OllamaHealth]) -> tuple[OllamaHealth, ...]:
    """The newest health of each Ollama URL, by URL."""
    latest: dict[str, OllamaHealth] = {}
    for health in newest_first:
        latest.setdefault(health.ollama_url, health)
    return tuple(latest[url] for url in sorted(latest))


def ollama_up(ollama: Sequence[OllamaHealth]) -> bool | None:
    """Every Ollama server up (None when none was ever heard of)."""
    return all(health.up for health in ollama) if ollama else None


def host_summaries(
    records: Sequence[HostRecord],
    states: Mapping[str, HostState],
    models: Sequence[ModelSummary],
    active_alerts: Sequence[OllamaPerformanceAlert],
    now_ms: int,
) -> list[HostSummary]:
    """One summary per host record, with its share of the model rows and active alerts."""
    rows_by_host: dict[str | None, list[ModelSummary]] = {}
    for model in models:
        rows_by_host.setdefault(model.host, []).append(model)
    alerts_by_host = Counter(alert.host for alert in active_alerts)
    summaries = []
    for record in records:
        state = states.get(record.host, HostState())
        rows = rows_by_host.get(record.host, [])
        summaries.append(
            HostSummary(
                host=record.host,
                first_seen=datetime_from_ms(record.first_seen_ms),
                last_seen=datetime_from_ms(record.last_seen_ms),
                reporting=now_ms - record.last_seen_ms <= REPORTING_WINDOW_SECONDS * 1000,
                latest_system=state.latest_system,
                gpu_available=gpu_available(state.latest_system),
                ollama=list(state.ollama),
                ollama_up=ollama_up(state.ollama),
                model_count=len(rows),
                request_count=sum(row.request_count for row in rows),
                error_count=sum(row.error_count for row in rows),
                active_alert_count=alerts_by_host[record.host],
            )
        )
    return summaries


def fleet_rollup(
    hosts: Sequence[HostSummary],
    models: Sequence[ModelSummary],
    active_alerts: Sequence[OllamaPerformanceAlert],
) -> FleetRollup:
    """The hosts in view together."""
    return FleetRollup(
        host_count=len(hosts),
        hosts_reporting=sum(1 for host in hosts if host.reporting),
        hosts_with_gpu=sum(1 for host in hosts if host.gpu_available),
        hosts_ollama_down=sum(1 for host in hosts if host.ollama_up is False),
        model_count=len({model.model_name for model in models}),
        total_requests=sum(model.request_count for model in models),
        total_errors=sum(model.error_count for model in models),
        active_alerts=len(active_alerts),
    )
