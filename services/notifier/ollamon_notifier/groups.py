"""Which notifications an alert makes, and which repeats are due (pure, time passed in).

Each receiver keeps its alerts in groups (the `group_by` labels of the route that sent
them there). A firing alert new to its group notifies at once with the group's firing
alerts; the same alert again (alerting's own repeat, a redelivery) waits for the group's
repeat interval; a resolved alert notifies at once and leaves the group. A group that still
fires is notified again every repeat interval (an Alertmanager receiver: every resend
interval, the way Prometheus re-sends). A firing alert older than the resolution already
seen for its fingerprint (a late redelivery) is ignored, so it cannot fire forever.

At start the groups are seeded with the alerts firing now (storage's answer): their
repeats go on from there, and one of them that then comes from the durable consumer (an
alert a stopped notifier had not settled) is notified all the same.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from ollamon_core.events import AlertState, OllamaPerformanceAlert, ReceiverKind
from ollamon_notifier.payloads import Notification
from ollamon_notifier.routing import (
    GROUP_EVERY_LABEL,
    LABELS,
    Receiver,
    Route,
    Routing,
    alert_fingerprint,
    alert_labels,
)

RESOLVED_MEMORY = 10_000


@dataclass
class Group:
    """The alerts of one group at one receiver."""

    receiver: Receiver
    route: Route
    key: str
    labels: dict[str, str]
    interval_seconds: float
    firing: dict[str, OllamaPerformanceAlert] = field(default_factory=dict)
    last_sent: float | None = None
    seeded: set[str] = field(default_factory=set)  # fingerprints taken up at start

    def notification(
        self, trigger: OllamaPerformanceAlert, *extra: OllamaPerformanceAlert, repeat: bool = False
    ) -> Notification:
        """A notification of the group's firing alerts (and `extra`), caused by `trigger`."""
        return Notification(
            receiver=self.receiver.name,
            group_key=self.key,
            group_labels=self.labels,
            trigger=trigger,
            alerts=(*self.firing.values(), *extra),
            repeat=repeat,
        )


@dataclass(frozen=True)
class Planned:
    """A notification to send to a receiver."""

    receiver: Receiver
    notification: Notification


class GroupBook:
    """Every receiver's groups, fed alerts in arrival order."""

    def __init__(
        self,
        routing: Routing,
        *,
        repeat_interval_seconds: float,
        alertmanager_resend_seconds: float,
    ) -> None:
        self.routing = routing
        self.repeat_interval_seconds = repeat_interval_seconds
        self.alertmanager_resend_seconds = alertmanager_resend_seconds
        self.groups: dict[tuple[str, str], Group] = {}
        self._resolved: OrderedDict[str, datetime] = OrderedDict()

    def on_alert(self, alert: OllamaPerformanceAlert, now: float) -> list[Planned]:
        """The notifications `alert` makes now (none if it changes nothing anyone was told)."""
        fingerprint = alert_fingerprint(alert)
        if alert.state is AlertState.FIRING and self._older_than_resolution(fingerprint, alert):
            return []
        if alert.state is AlertState.RESOLVED:
            self._remember_resolution(fingerprint, alert.timestamp)
        labels = alert_labels(alert)
        planned = []
        for route, receiver in self.routing.targets(labels):
            group = self._group(route, receiver, labels)
            notification = self._update(group, fingerprint, alert, now)
            if notification is not None:
                planned.append(Planned(receiver, notification))
        return planned

    def due_repeats(self, now: float, busy: Iterable[tuple[str, str]] = ()) -> list[Planned]:
        """Repeat notifications of the groups still firing whose interval has passed (not of
        those in `busy`, which have a notification on its way)."""
        skip = set(busy)
        planned = []
        for ident, group in self.groups.items():
            if not group.firing or ident in skip or group.last_sent is None:
                continue
            if now - group.last_sent >= group.interval_seconds:
                group.last_sent = now
                trigger = next(reversed(group.firing.values()))
                planned.append(Planned(group.receiver, group.notification(trigger, repeat=True)))
        return planned

    def seed(self, alerts: Iterable[OllamaPerformanceAlert], now: float) -> int:
        """Take up alerts firing at start without notifying; returns how many groups hold
        one. Their repeats count from `now`."""
        for alert in alerts:
            if alert.state is not AlertState.FIRING:
                continue
            labels = alert_labels(alert)
            fingerprint = alert_fingerprint(alert)
            for route, receiver in self.routing.targets(labels):
                group = self._group(route, receiver, labels)
                group.firing.setdefault(fingerprint, alert)
                group.seeded.add(fingerprint)
                group.last_sent = now
        return len(self.groups)

    def firing_count(self) -> int:
        """Firing alerts held, over every receiver's groups."""
        return sum(len(group.firing) for group in self.groups.values())

    def _update(
        self, group: Group, fingerprint: str, alert: OllamaPerformanceAlert, now: float
    ) -> Notification | None:
        if alert.state is AlertState.FIRING:
            # A seeded alert coming from the durable may never have been notified.
            known = fingerprint in group.firing and fingerprint not in group.seeded
            group.seeded.discard(fingerprint)
            group.firing[fingerprint] = alert
            recently = (
                group.last_sent is not None and now - group.last_sent < group.interval_seconds
            )
            if known and recently:
                return None
            group.last_sent = now
            return group.notification(alert)
        group.firing.pop(fingerprint, None)
        group.seeded.discard(fingerprint)
        group.last_sent = now
        notification = group.notification(alert, alert)
        if not group.firing:
            del self.groups[(group.receiver.name, group.key)]
        return notification

    def _group(self, route: Route, receiver: Receiver, labels: dict[str, str]) -> Group:
        key = route.group_key(labels)
        ident = (receiver.name, key)
        group = self.groups.get(ident)
        if group is None:
            names = LABELS if GROUP_EVERY_LABEL in route.group_by else route.group_by
            if receiver.kind is ReceiverKind.ALERTMANAGER:
                interval = self.alertmanager_resend_seconds
            else:
                interval = route.repeat_interval_seconds or self.repeat_interval_seconds
            group = Group(
                receiver=receiver,
                route=route,
                key=key,
                labels={name: labels.get(name, "") for name in names},
                interval_seconds=interval,
            )
            self.groups[ident] = group
        return group

    def _older_than_resolution(self, fingerprint: str, alert: OllamaPerformanceAlert) -> bool:
        resolved_at = self._resolved.get(fingerprint)
        return resolved_at is not None and alert.timestamp <= resolved_at

    def _remember_resolution(self, fingerprint: str, moment: datetime) -> None:
        self._resolved[fingerprint] = max(moment, self._resolved.get(fingerprint, moment))
        self._resolved.move_to_end(fingerprint)
        while len(self._resolved) > RESOLVED_MEMORY:
            self._resolved.popitem(last=False)
