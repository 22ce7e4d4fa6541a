"""The alerting engine: events in, alerts and scores out (pure code, time passed in).

It holds the request windows, the baselines, the alert tracker and the controls (thresholds
and silences, `management.py`), everything keyed by host; the service feeds it events and
publishes what it returns.
"""

from __future__ import annotations

from datetime import datetime

from ollamon_alerting import anomalies, recommendations
from ollamon_alerting import observations as obs
from ollamon_alerting.baselines import BaselineBook
from ollamon_alerting.bypass import BypassBook
from ollamon_alerting.forecast_rules import ForecastBook
from ollamon_alerting.lifecycle import (
    AlertRecord,
    AlertTracker,
    LifecycleTiming,
    Notification,
    fingerprint,
)
from ollamon_alerting.management import Controls, ThresholdChange
from ollamon_alerting.messages import build_alert, build_score
from ollamon_alerting.request_rules import RequestRulePolicy, request_rule_observations
from ollamon_alerting.rules import RuleName
from ollamon_alerting.scoring import ScoreThresholds
from ollamon_alerting.settings import AlertingSettings
from ollamon_alerting.windows import RequestSample, RequestWindow, WindowStats
from ollamon_core.events import (
    AlertAcknowledgement,
    AlertAcknowledgementReply,
    AlertAudit,
    AlertState,
    AuditAction,
    Heartbeat,
    ModelLifecycleEvent,
    ModelScore,
    OllamaHealth,
    OllamaModelMetrics,
    OllamaModelsSnapshot,
    OllamaPerformanceAlert,
    OllamaSystemMetrics,
    Silence,
)

WindowKey = tuple[str, str]  # host, model


def timing_from_settings(settings: AlertingSettings) -> LifecycleTiming:
    """The lifecycle timing of the settings."""
    return LifecycleTiming(
        for_seconds=settings.for_seconds,
        resolve_seconds=settings.resolve_seconds,
        hysteresis_fraction=settings.hysteresis_percent / 100.0,
        repeat_interval_seconds=settings.repeat_interval_seconds,
        stale_seconds=settings.stale_seconds,
    )


def policy_from_settings(settings: AlertingSettings) -> RequestRulePolicy:
    """The per-request rules' k of n of the settings."""
    return RequestRulePolicy(
        breaches=settings.request_rule_breaches,
        requests=settings.request_rule_requests,
        severe_factor=settings.severe_breach_factor,
        hysteresis_fraction=settings.hysteresis_percent / 100.0,
    )


class AlertEngine:
    """Every rule, window and alert of one alerting service."""

    def __init__(self, settings: AlertingSettings) -> None:
        self.settings = settings
        self.controls = Controls(settings)
        self.thresholds = self.controls.thresholds  # in force now, changed by the controls
        self.silences = self.controls.silences
        self.tracker = AlertTracker(timing_from_settings(settings), self.silences)
        self.policy = policy_from_settings(settings)
        self.baselines = BaselineBook(settings.baseline_min_samples)
        self.windows: dict[WindowKey, RequestWindow] = {}
        self.windows_changed: set[WindowKey] = set()  # since the last save
        self.loaded: dict[str, dict[str, float]] = {}  # host -> model -> percent offloaded
        self.backlogs: dict[str, obs.SpoolBacklog] = {}  # host -> service -> spool figures
        self.bypass = BypassBook(settings.window_seconds)
        self.anomalies = anomalies.AnomalyBook(anomalies.policy_from_settings(settings))
        self.forecasts = ForecastBook(settings.hysteresis_percent / 100.0)

    # Events ----------------------------------------------------------------------------

    def on_request(self, event: OllamaModelMetrics, now: datetime) -> list[OllamaPerformanceAlert]:
        """A measured request: the model's per-request and windowed rules on its host."""
        key = (event.host, event.model_name)
        sample = RequestSample.from_event(event, now)
        self.windows.setdefault(key, RequestWindow(self.settings.window_seconds)).add(sample)
        self.windows_changed.add(key)
        if sample.tokens_per_second is not None:
            self.baselines.add(event.host, event.model_name, sample.tokens_per_second)
        self.anomalies.observe(event, sample, self.baselines.digest(event.host, event.model_name))
        found = self._window_observations(key, now, newest=sample)
        return self._apply([*found, self.bypass.add(event, now)], now)

    def on_system(self, event: OllamaSystemMetrics, now: datetime) -> list[OllamaPerformanceAlert]:
        """A host sample: memory, CPU, GPU, disk, and when memory, VRAM or a disk fills up."""
        forecasts = self.forecasts.observe(event, self.thresholds)
        return self._apply([*obs.system_observations(event), *forecasts], now)

    def on_health(self, event: OllamaHealth, now: datetime) -> list[OllamaPerformanceAlert]:
        """An Ollama health poll: reachable or not."""
        return self._apply([obs.health_observation(event)], now)

    def on_models(self, event: OllamaModelsSnapshot, now: datetime) -> list[OllamaPerformanceAlert]:
        """An `/api/ps` snapshot: digests for the baselines, partial offload per model."""
        for model in event.loaded:
            self.baselines.set_digest(event.host, model.name, model.digest)
        previous = set(self.loaded.get(event.host, {}))
        found = obs.offload_observations(event, previous)
        self.loaded[event.host] = {
            model.name: obs.offload_percent(model.size_bytes, model.size_vram_bytes)
            for model in event.loaded
        }
        return self._apply(found, now)

    def on_lifecycle(
        self, event: ModelLifecycleEvent, now: datetime
    ) -> list[OllamaPerformanceAlert]:
        """A model loaded, unloaded or evicted: its offload share."""
        return self._apply([obs.lifecycle_observation(event)], now)

    def on_heartbeat(self, event: Heartbeat, now: datetime) -> list[OllamaPerformanceAlert]:
        """A service's heartbeat: the age of what waits in its disk spool (probe, collector)."""
        figures = obs.spool_figures(event)
        if figures is None:
            return []
        backlog = self.backlogs.setdefault(event.host, {})
        backlog[event.service.value] = figures
        return self._apply([obs.backlog_observation(event.host, backlog)], now)

    def tick(self, now: datetime) -> list[OllamaPerformanceAlert]:
        """Advance time: slide the windows, fire, resolve, repeat."""
        found: list[obs.Observation] = []
        for key in list(self.windows):
            found.extend(self._window_observations(key, now))
            if not self.windows[key].samples:
                del self.windows[key]
                self.windows_changed.add(key)
        found.extend(self.bypass.tick(now))
        alerts = self._apply(found, now)
        return alerts + self._to_alerts(self.tracker.tick(now), now)

    # Control ---------------------------------------------------------------------------

    def acknowledge(
        self, ack: AlertAcknowledgement, now: datetime
    ) -> tuple[AlertAcknowledgementReply, AlertAudit, OllamaPerformanceAlert] | None:
        """Acknowledge a firing alert; None when no alert with that fingerprint fires.

        Returns:
            The reply, the audit, and the alert to publish once more with who acknowledged it
            (its notification count unchanged).
        """
        record = self.tracker.acknowledge(ack.fingerprint, ack.author, now)
        if record is None or record.acknowledged_at is None:
            return None
        reply = AlertAcknowledgementReply(
            fingerprint=record.fingerprint,
            alert_type=record.rule.value,
            host=record.host,
            model_name=record.model_name,
            acknowledged_by=ack.author,
            acknowledged_at=record.acknowledged_at,
        )
        audit = AlertAudit(
            timestamp=now,
            action=AuditAction.ALERT_ACKNOWLEDGED,
            author=ack.author,
            comment=ack.comment,
            rule=record.rule.value,
            fingerprint=record.fingerprint,
            alert_host=record.host,
            model_name=record.model_name,
        )
        (alert,) = self._to_alerts([Notification(record, AlertState.FIRING)], now)
        return reply, audit, alert

    def restore(
        self,
        records: list[AlertRecord],
        silences: list[Silence],
        now: datetime,
        thresholds: dict[RuleName, ThresholdChange] | None = None,
    ) -> tuple[list[Silence], list[RuleName]]:
        """Load the state kept across a restart, held to the same checks as live commands.

        Returns:
            The silences and thresholds refused (kept by an older version, or written to
            the bucket by hand), so that the caller can drop them from the bucket.
        """
        self.tracker.restore(records, now)
        return self.controls.restore(silences, thresholds or {}, now)

    def restore_window(self, host: str, model_name: str, window: RequestWindow) -> None:
        """Take up a kept request window (already pruned to now)."""
        if window.samples:
            self.windows[(host, model_name)] = window

    # Scores ----------------------------------------------------------------------------

    def scores(self, now: datetime) -> list[ModelScore]:
        """A score for every (host, model) with requests in its window."""
        thresholds = ScoreThresholds(
            error_rate_percent=self.thresholds[RuleName.LOW_SUCCESS_RATE],
            response_time_ms=self.thresholds[RuleName.SLOW_RESPONSE],
            time_to_first_token_p95_ms=self.thresholds[RuleName.TTFT_P95],
            model_load_time_ms=self.thresholds[RuleName.MODEL_LOAD],
            anomaly_breach_share=self.policy.breaches / self.policy.requests,
        )
        found = []
        for (host, model_name), window in sorted(self.windows.items()):
            stats = window.stats(now, self.thresholds[RuleName.CONTEXT_OVERFLOW])
            if stats is None:
                continue
            advice = recommendations.for_model(
                stats,
                self.loaded.get(host, {}).get(model_name, 0.0),
                self._memory_pressure(host),
            )
            baseline = self.baselines.baseline(host, model_name)
            outside = self._anomaly_book_args(host, model_name, now)
            found.append(
                build_score(
                    host,
                    model_name,
                    stats,
                    thresholds,
                    baseline,
                    advice,
                    now,
                    self.anomalies.outside_share(*outside),
                )
            )
        return found

    # Internals -------------------------------------------------------------------------

    def _stats(self, key: WindowKey, now: datetime) -> WindowStats | None:
        window = self.windows.get(key)
        if window is None:
            return None
        return window.stats(now, self.thresholds[RuleName.CONTEXT_OVERFLOW])

    def _window_observations(
        self, key: WindowKey, now: datetime, newest: RequestSample | None = None
    ) -> list[obs.Observation]:
        host, model_name = key
        window = self.windows[key]
        recent = window.last_measured(now, self.policy.requests)
        per_request = request_rule_observations(
            host, model_name, recent, self.thresholds, self.policy, newest
        )
        return [
            *per_request,
            *obs.window_observations(
                host,
                model_name,
                self._stats(key, now),
                self.baselines.baseline(host, model_name),
                self.settings.min_requests,
            ),
            self.anomalies.observation(*self._anomaly_book_args(host, model_name, now)),
        ]

    def _anomaly_book_args(
        self, host: str, model_name: str, now: datetime
    ) -> tuple[str, str, str, datetime, float]:
        """(host, model, current digest, now, threshold): what the anomaly book is asked with."""
        digest = self.baselines.digest(host, model_name)
        return host, model_name, digest, now, self.thresholds[RuleName.PERFORMANCE_ANOMALY]

    def _apply(self, found: list[obs.Observation], now: datetime) -> list[OllamaPerformanceAlert]:
        notifications = []
        for observation in found:
            threshold = self.thresholds[observation.rule]
            notifications.extend(self.tracker.observe(observation, threshold, now))
        return self._to_alerts(notifications, now)

    def _to_alerts(
        self, notifications: list[Notification], now: datetime
    ) -> list[OllamaPerformanceAlert]:
        alerts = []
        for notification in notifications:
            record = notification.record
            stats = (
                self._stats((record.host, record.model_name), now) if record.model_name else None
            )
            alerts.append(build_alert(notification, stats, now))
        return alerts

    def _memory_pressure(self, host: str) -> bool:
        key = fingerprint(RuleName.HIGH_MEMORY, host, None)
        return key in self.tracker.records
