"""The alert lifecycle: pending -> firing -> resolved, per (rule, host, model) fingerprint.

Pure code over observations and an explicit `now`:
- a breach opens a pending record; it fires once the condition has held `for_seconds`;
- an observation may carry its own verdict (the per-request rules: k of the last n requests)
  and may fire at once (one severe breach), skipping the pending time;
- a firing record is notified once, again after `repeat_interval_seconds` unless it was
  acknowledged, and at once when its severity rises (severity only rises during an alert's
  life, so every notification of one alert, the resolved one included, goes to its highest
  severity);
- it resolves once its value has stayed at or below threshold x (1 - hysteresis) for
  `resolve_seconds`, or when no data came for `stale_seconds`; a value between that level
  and the threshold keeps it firing (no flapping);
- silenced or inhibited records are not notified; a resolved event is sent only for alerts
  whose firing was sent, so subscribers always see pairs.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import AwareDatetime, BaseModel

from ollamon_alerting.observations import Observation, Verdict
from ollamon_alerting.rules import RULE_SPECS, RuleName
from ollamon_alerting.severity import severity_for
from ollamon_alerting.silences import SilenceBook
from ollamon_core.events import AlertState, AnomalyEvidence, Severity


class RecordStatus(StrEnum):
    """Where a record is in its life (resolved records are deleted)."""

    PENDING = "pending"
    FIRING = "firing"


class AlertRecord(BaseModel):
    """The state of one alert, as kept in memory and in the key-value bucket."""

    fingerprint: str
    rule: RuleName
    host: str
    model_name: str | None
    status: RecordStatus
    value: float
    threshold: float
    severity: Severity
    detail: str = ""
    pending_since: AwareDatetime
    fired_at: AwareDatetime | None = None
    last_seen_at: AwareDatetime
    clear_since: AwareDatetime | None = None
    last_notified_at: AwareDatetime | None = None
    notified_severity: Severity | None = None
    notification_count: int = 0
    acknowledged_by: str | None = None
    acknowledged_at: AwareDatetime | None = None
    evidence: AnomalyEvidence | None = None  # of the latest breach (performance_anomaly)


@dataclass(frozen=True)
class LifecycleTiming:
    """The lifecycle's durations and the hysteresis margin."""

    for_seconds: float = 30.0
    resolve_seconds: float = 60.0
    hysteresis_fraction: float = 0.1
    repeat_interval_seconds: float = 3600.0
    stale_seconds: float = 600.0


@dataclass(frozen=True)
class Notification:
    """A notification to publish: the record as it is now, firing or resolved."""

    record: AlertRecord
    state: AlertState
    ends_at: datetime | None = None


@functools.lru_cache(maxsize=4096)  # several a request, on the same few (rule, host, model)
def fingerprint(rule: str, host: str, model_name: str | None) -> str:
    """The stable identity of an alert: (rule, host, model)."""
    raw = f"{rule}\x1f{host}\x1f{model_name or ''}"
    return hashlib.sha256(raw.encode()).hexdigest()[:24]


def _seconds(delta: timedelta) -> float:
    return delta.total_seconds()


class AlertTracker:
    """Every pending and firing alert, and the changes not yet persisted."""

    def __init__(self, timing: LifecycleTiming, silences: SilenceBook) -> None:
        self.timing = timing
        self.silences = silences
        self.records: dict[str, AlertRecord] = {}
        self._changed: set[str] = set()
        self._removed: set[str] = set()

    # Inputs ----------------------------------------------------------------------------

    def verdict(self, observation: Observation, threshold: float) -> Verdict:
        """The observation's own verdict, else its value against the threshold."""
        if observation.verdict is not None:
            return observation.verdict
        value = observation.value
        if value is None:
            return Verdict.CLEAR
        if value > threshold or (RULE_SPECS[observation.rule].inclusive and value >= threshold):
            return Verdict.BREACH
        if value <= threshold * (1 - self.timing.hysteresis_fraction):
            return Verdict.CLEAR
        return Verdict.HOLD

    def observe(
        self, observation: Observation, threshold: float, now: datetime
    ) -> list[Notification]:
        """Apply one observation against the rule's threshold."""
        value = observation.value
        verdict = self.verdict(observation, threshold)
        key = fingerprint(observation.rule, observation.host, observation.model_name)
        record = self.records.get(key)
        if record is None:
            if verdict is not Verdict.BREACH or value is None:
                return []
            record = AlertRecord(
                fingerprint=key,
                rule=observation.rule,
                host=observation.host,
                model_name=observation.model_name,
                status=RecordStatus.PENDING,
                value=value,
                threshold=threshold,
                severity=severity_for(RULE_SPECS[observation.rule].scale, value, threshold),
                detail=observation.detail,
                pending_since=now,
                last_seen_at=now,
            )
            self.records[key] = record
            self._mark(record)
        record.last_seen_at = now
        record.threshold = threshold
        if value is not None:
            record.value = value
        if verdict is Verdict.BREACH and value is not None:
            self._on_breach(record, value, observation.detail)
            if observation.evidence is not None:
                record.evidence = observation.evidence
            if observation.immediate and record.status is RecordStatus.PENDING:
                self._fire(record, now)
        elif record.status is RecordStatus.PENDING:
            self._remove(record)
            return []
        elif verdict is Verdict.CLEAR:
            if record.clear_since is None:
                record.clear_since = now
                self._mark(record)
        elif record.clear_since is not None:  # back inside the hysteresis band
            record.clear_since = None
            self._mark(record)
        return self._advance(record, now)

    def tick(self, now: datetime) -> list[Notification]:
        """Advance time: fire pending records, resolve cleared or stale ones, repeat."""
        notifications: list[Notification] = []
        for record in list(self.records.values()):
            if _seconds(now - record.last_seen_at) >= self.timing.stale_seconds:
                notifications.extend(self._resolve(record, now))
                continue
            notifications.extend(self._advance(record, now))
        return notifications

    def restore(self, records: list[AlertRecord], now: datetime) -> None:
        """Load records kept across a restart; each gets a full stale period to report again."""
        for record in records:
            record.last_seen_at = max(record.last_seen_at, now)
            self.records[record.fingerprint] = record

    def take_changes(self) -> tuple[list[AlertRecord], list[str]]:
        """Records changed and fingerprints removed since the last call (to persist)."""
        changed = [self.records[key] for key in self._changed if key in self.records]
        removed = sorted(self._removed)
        self._changed.clear()
        self._removed.clear()
        return changed, removed

    def firing(self) -> list[AlertRecord]:
        """The records firing now."""
        return [r for r in self.records.values() if r.status is RecordStatus.FIRING]

    def acknowledge(self, key: str, author: str, now: datetime) -> AlertRecord | None:
        """Mark a firing alert acknowledged: no repeat notifications until it resolves.

        Returns:
            The record as it is now, or None when no alert with that fingerprint fires.
        """
        record = self.records.get(key)
        if record is None or record.status is not RecordStatus.FIRING:
            return None
        record.acknowledged_by = author
        record.acknowledged_at = now
        self._mark(record)
        return record.model_copy()

    # Transitions -----------------------------------------------------------------------

    def _on_breach(self, record: AlertRecord, value: float, detail: str) -> None:
        severity = severity_for(RULE_SPECS[record.rule].scale, value, record.threshold)
        if severity.rank > record.severity.rank:
            record.severity = severity
            self._mark(record)
        if detail:
            record.detail = detail
        if record.clear_since is not None:
            record.clear_since = None
            self._mark(record)

    def _advance(self, record: AlertRecord, now: datetime) -> list[Notification]:
        if record.status is RecordStatus.PENDING:
            if _seconds(now - record.pending_since) < self.timing.for_seconds:
                return []
            self._fire(record, now)
        if (
            record.clear_since is not None
            and _seconds(now - record.clear_since) >= self.timing.resolve_seconds
        ):
            return self._resolve(record, now)
        if self.suppressed(record, now):
            return []
        due = (
            record.notification_count == 0
            or record.last_notified_at is None
            or (
                record.acknowledged_at is None
                and _seconds(now - record.last_notified_at) >= self.timing.repeat_interval_seconds
            )
        )
        if not due and not self._escalated(record):
            return []
        record.notification_count += 1
        record.last_notified_at = now
        record.notified_severity = record.severity
        self._mark(record)
        return [Notification(record.model_copy(), AlertState.FIRING)]

    def _fire(self, record: AlertRecord, now: datetime) -> None:
        record.status = RecordStatus.FIRING
        record.fired_at = now
        self._mark(record)

    def _resolve(self, record: AlertRecord, now: datetime) -> list[Notification]:
        self._remove(record)
        if record.status is RecordStatus.FIRING and record.notification_count > 0:
            return [Notification(record.model_copy(), AlertState.RESOLVED, ends_at=now)]
        return []

    @staticmethod
    def _escalated(record: AlertRecord) -> bool:
        notified = record.notified_severity
        return notified is not None and record.severity.rank > notified.rank

    def suppressed(self, record: AlertRecord, now: datetime) -> bool:
        """True when a silence matches or the host's Ollama-unreachable alert inhibits it."""
        if self.silences.silenced(
            record.rule, record.host, record.model_name, now, record.severity
        ):
            return True
        if not RULE_SPECS[record.rule].inhibited_by_unreachable:
            return False
        source = self.records.get(fingerprint(RuleName.OLLAMA_UNREACHABLE, record.host, None))
        return source is not None and source.status is RecordStatus.FIRING

    # Bookkeeping -----------------------------------------------------------------------

    def _mark(self, record: AlertRecord) -> None:
        self._changed.add(record.fingerprint)
        self._removed.discard(record.fingerprint)

    def _remove(self, record: AlertRecord) -> None:
        self.records.pop(record.fingerprint, None)
        self._changed.discard(record.fingerprint)
        self._removed.add(record.fingerprint)
