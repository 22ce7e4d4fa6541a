"""What the gateway learns from live events: heartbeats, Ollama health, monitoring state.

Plain synchronous code over event models; the gateway keeps nothing durable (storage does),
so a fresh gateway knows the services again after one heartbeat interval.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from ollamon_core.events import (
    Heartbeat,
    MonitoringAction,
    MonitoringControl,
    OllamaHealth,
    OllamaModelsSnapshot,
    ServiceName,
    utc_now,
)
from ollamon_gateway.api_models import MonitoringStatus, ServiceStatus

# A service whose last heartbeat is older than this many intervals is reported as stale.
STALE_AFTER_INTERVALS = 3
MONITORED_SERVICES = [service for service in ServiceName if service is not ServiceName.CLI]


@dataclass
class LiveState:
    """The latest heartbeat per service and host, Ollama health and loaded models per host
    and URL, monitoring.

    Ollama health is keyed by (host, URL): two hosts each polling their own
    `http://127.0.0.1:11434` are two servers.
    """

    default_interval_seconds: float
    heartbeat_interval_seconds: float
    heartbeats: dict[tuple[str, str], Heartbeat] = field(default_factory=dict)
    ollama: dict[tuple[str, str], OllamaHealth] = field(default_factory=dict)
    models: dict[tuple[str, str], OllamaModelsSnapshot] = field(default_factory=dict)
    monitoring: MonitoringStatus | None = None

    def __post_init__(self) -> None:
        if self.monitoring is None:
            self.monitoring = MonitoringStatus(
                active=True, interval_seconds=self.default_interval_seconds
            )

    def apply_heartbeat(self, heartbeat: Heartbeat) -> None:
        """Remember a service's latest heartbeat."""
        self.heartbeats[(heartbeat.service.value, heartbeat.host)] = heartbeat

    def apply_health(self, health: OllamaHealth) -> None:
        """Remember the latest health of one Ollama server of one host."""
        key = (health.host, health.ollama_url)
        known = self.ollama.get(key)
        if known is None or health.timestamp >= known.timestamp:
            self.ollama[key] = health

    def apply_models(self, snapshot: OllamaModelsSnapshot) -> None:
        """Remember what one Ollama server of one host holds in memory (not its catalogue,
        which can be long: storage and the stream have it)."""
        key = (snapshot.host, snapshot.ollama_url)
        known = self.models.get(key)
        if known is None or snapshot.timestamp >= known.timestamp:
            self.models[key] = snapshot.model_copy(update={"available": []})

    def loaded_models(self, host: str | None = None) -> list[OllamaModelsSnapshot]:
        """The latest snapshot of every Ollama server seen (of one host), catalogue left out."""
        return [self.models[key] for key in sorted(self.models) if host is None or key[0] == host]

    def apply_control(self, control: MonitoringControl) -> MonitoringStatus:
        """Follow a start/stop (from this gateway or another one) and return the new state."""
        current = self.monitoring_status
        self.monitoring = MonitoringStatus(
            active=control.action == MonitoringAction.START,
            interval_seconds=control.interval_seconds or current.interval_seconds,
            changed_at=control.timestamp,
        )
        return self.monitoring

    @property
    def monitoring_status(self) -> MonitoringStatus:
        """The monitoring state as last set."""
        assert self.monitoring is not None  # set in __post_init__
        return self.monitoring

    def services(self, now: datetime | None = None) -> list[ServiceStatus]:
        """Every service seen, with the age of its last heartbeat, sorted by name and host."""
        now = now or utc_now()
        stale_after_seconds = self.heartbeat_interval_seconds * STALE_AFTER_INTERVALS
        statuses = []
        for (service, host), beat in sorted(self.heartbeats.items()):
            age_seconds = max(0.0, (now - beat.timestamp).total_seconds())
            statuses.append(
                ServiceStatus(
                    service=service,
                    host=host,
                    version=beat.version,
                    state=beat.state,
                    pid=beat.pid,
                    started_at=beat.started_at,
                    last_heartbeat=beat.timestamp,
                    heartbeat_age_seconds=round(age_seconds, 3),
                    alive=age_seconds <= stale_after_seconds,
                    counters=beat.counters,
                )
            )
        return statuses

    def missing_services(self, now: datetime | None = None) -> list[str]:
        """The five services with no live instance: never heard from, or heartbeats stale."""
        alive = {status.service for status in self.services(now) if status.alive}
        return [service.value for service in MONITORED_SERVICES if service.value not in alive]

    def ollama_health(self, host: str | None = None) -> list[OllamaHealth]:
        """The latest health of every Ollama server seen (of one host), by host and URL."""
        return [self.ollama[key] for key in sorted(self.ollama) if host is None or key[0] == host]
