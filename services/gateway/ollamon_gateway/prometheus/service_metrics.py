"""ollamon's own metrics: build, firing alerts per host, the dashboard stream, notification
attempts, service heartbeats and the disk spools they report."""

from __future__ import annotations

import platform

from prometheus_client import Counter

from ollamon_core import __version__
from ollamon_core.events import (
    AlertState,
    Heartbeat,
    NotificationDelivery,
    OllamaPerformanceAlert,
    Severity,
)
from ollamon_gateway.prometheus.families import Families
from ollamon_gateway.reported import ReportedCounter


class ServiceMetrics:
    """The families about ollamon itself.

    Args:
        families: makes the families in the exporter's registry.
    """

    def __init__(self, families: Families) -> None:
        self._firing: dict[str, tuple[str, Severity]] = {}  # fingerprint -> host, severity
        self._hosts: set[str] = set()
        self._sse_dropped_seen = 0
        self.build_info = families.gauge(
            "ollamon_build_info", "ollamon's version (always 1)", ("version", "python_version")
        )
        self.build_info.labels(__version__, platform.python_version()).set(1)
        self.alerts_firing = families.gauge(
            "ollamon_alerts_firing", "Alerts firing now", ("host", "severity")
        )
        self.sse_clients = families.gauge(
            "ollamon_sse_clients", "Dashboard stream clients connected"
        )
        self.sse_dropped = Counter(
            "ollamon_sse_frames_dropped",
            "Stream frames dropped for slow clients",
            registry=families.registry,
        )
        # From the notifier: one per settled delivery attempt (outcome delivered, retrying,
        # failed or dead_lettered), by the receiver's configured name.
        self.notifications = families.counter(
            "ollamon_notifications",
            "Notification attempts by receiver and outcome",
            ("receiver", "outcome"),
        )
        service = ("service", "host")
        self.heartbeat = families.gauge(
            "ollamon_service_heartbeat_timestamp_seconds",
            "When a service's latest heartbeat was sent (Unix time)",
            service,
        )
        # From the heartbeats of the services with a disk spool (probe, collector): what
        # waits there while NATS does not acknowledge it (a `telemetry_backlog` alert fires
        # on the same figures).
        self.spool = {
            "spool_events": families.gauge(
                "ollamon_spool_events", "Events waiting in the disk spool", service
            ),
            "spool_bytes": families.gauge(
                "ollamon_spool_bytes", "Size of the disk spool's events", service
            ),
            "spool_oldest_age_seconds": families.gauge(
                "ollamon_spool_oldest_age_seconds",
                "Age of the oldest event in the disk spool (0 when empty)",
                service,
            ),
        }
        self.spool_dropped = {
            counter: ReportedCounter(name, text, service)
            for counter, name, text in (
                ("spool_dropped", "ollamon_spool_dropped_events", "Events the full spool dropped"),
                (
                    "spool_dropped_requests",
                    "ollamon_spool_dropped_requests",
                    "Request events among them",
                ),
            )
        }
        for collector in self.spool_dropped.values():
            families.registry.register(collector)

    def see_host(self, host: str) -> None:
        """A host's first event: its firing-alert gauges start at 0 for every severity."""
        if host not in self._hosts:
            self._hosts.add(host)
            for severity in Severity:
                self.alerts_firing.labels(host, severity.value).set(0)

    def observe_alert(self, alert: OllamaPerformanceAlert) -> None:
        """Count the alerts firing per host and severity (a repeat is still one alert)."""
        key = alert.fingerprint or alert.event_id
        before = self._firing.pop(key, None)
        if alert.state == AlertState.FIRING:
            self._firing[key] = (alert.host, alert.severity)
        for host in {alert.host} | ({before[0]} if before else set()):
            self.see_host(host)
            for severity in Severity:
                count = sum(1 for value in self._firing.values() if value == (host, severity))
                self.alerts_firing.labels(host, severity.value).set(count)

    def observe_heartbeat(self, heartbeat: Heartbeat) -> None:
        """When a service last beat, and its spool's figures where it has one."""
        labels = (heartbeat.service.value, heartbeat.host)
        self.heartbeat.labels(*labels).set(heartbeat.timestamp.timestamp())
        if "spool_events" not in heartbeat.counters:
            return  # a service without a spool
        for counter, gauge in self.spool.items():
            gauge.labels(*labels).set(heartbeat.counters.get(counter, 0.0))
        for counter, reported in self.spool_dropped.items():
            reported.set(heartbeat.counters.get(counter, 0.0), *labels)

    def observe_delivery(self, event: NotificationDelivery) -> None:
        """Count one notification attempt."""
        self.notifications.labels(event.receiver, event.outcome.value).inc()

    def update_stream(self, *, sse_clients: int, sse_dropped: int) -> None:
        """The stream's clients now; the dropped counter takes what it grew by since."""
        self.sse_clients.set(sse_clients)
        if sse_dropped > self._sse_dropped_seen:
            self.sse_dropped.inc(sse_dropped - self._sse_dropped_seen)
            self._sse_dropped_seen = sse_dropped
