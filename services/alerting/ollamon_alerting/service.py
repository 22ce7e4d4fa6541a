"""The alerting service: subscribe, feed the engine, publish alerts and scores, keep state.

`running_alerting` reads top to bottom: connect, open the state bucket, restore (alerts,
silences, thresholds, request windows, baselines), subscribe (events here, commands and
management requests in `commands.py`), evaluate, score and save what was learned in the
background, beat. Handlers only do I/O; every decision is the engine's (pure code).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Coroutine
from typing import Any

import nats.errors
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from pydantic import ValidationError

from ollamon_alerting import forecast_state, snapshots
from ollamon_alerting.anomalies import AnomalySnapshot
from ollamon_alerting.clock import Clock
from ollamon_alerting.commands import Commands
from ollamon_alerting.engine import AlertEngine
from ollamon_alerting.settings import AlertingSettings
from ollamon_alerting.state_store import (
    ANOMALY_PREFIX,
    BASELINE_PREFIX,
    FORECAST_PREFIX,
    WINDOW_PREFIX,
    AlertStateStore,
    silence_key,
    threshold_key,
)
from ollamon_alerting.windows import RequestSample
from ollamon_core import subjects
from ollamon_core.bus import Bus
from ollamon_core.events import (
    AlertState,
    Event,
    Heartbeat,
    ModelLifecycleEvent,
    OllamaHealth,
    OllamaModelMetrics,
    OllamaModelsSnapshot,
    OllamaPerformanceAlert,
    OllamaSystemMetrics,
    ServiceName,
    utc_now,
)
from ollamon_core.runtime import service_runtime

log = logging.getLogger(__name__)


@contextlib.asynccontextmanager
async def running_alerting(
    settings: AlertingSettings, clock: Clock = utc_now
) -> AsyncIterator[AlertingService]:
    """Run the alerting service until the block ends, then write what is left of its state."""
    async with service_runtime(ServiceName.ALERTING, settings) as runtime:
        store = await AlertStateStore.open(runtime.bus.js)
        service = AlertingService(settings, runtime.bus, store, clock)
        await service.restore()
        runtime.on_close(service.close)  # after the subscriptions and loops have ended
        for subscription in await service.subscribe():
            runtime.unsubscribe_at_close(subscription)
        runtime.start_task(service.evaluation_loop(), name="alert-evaluation")
        runtime.start_task(service.score_loop(), name="alert-scores")
        runtime.start_task(service.save_loop(), name="alert-state-save")
        runtime.start_heartbeat()
        log.info("alerting ready on %s", settings.nats_url)
        yield service


class AlertingService:
    """The alerting service's handlers and loops over a connected bus and a state store."""

    def __init__(
        self,
        settings: AlertingSettings,
        bus: Bus,
        store: AlertStateStore,
        clock: Clock = utc_now,
    ) -> None:
        self.settings = settings
        self.bus = bus
        self.store = store
        self.clock = clock
        self.engine = AlertEngine(settings)
        self.commands = Commands(self)
        self._persist_lock = asyncio.Lock()
        self._forecasts_saved_at = 0.0  # loop time of the last save of the forecast series

    async def restore(self) -> None:
        """Take up the alerts, silences and thresholds kept in the state bucket.

        What does not parse, or what a live command with the same content would be refused
        for (a silence too long, a threshold out of range), is dropped from the bucket.
        """
        stored = await self.store.load()
        now = self.clock()
        silences, rules = self.engine.restore(
            stored.records, stored.silences, now, stored.thresholds
        )
        self.bus.counters["alerts_restored"] = len(stored.records)
        unusable = []
        for key, raw in stored.windows.items():
            try:
                host, model_name, window = snapshots.window_from_bytes(
                    raw, self.settings.window_seconds, now
                )
            except ValidationError:
                unusable.append(key)
                continue
            self.engine.restore_window(host, model_name, window)
        for key, raw in stored.baselines.items():
            try:
                snapshots.restore_baselines(self.engine.baselines, raw)
            except ValidationError:
                unusable.append(key)
        for key, raw in stored.anomalies.items():
            try:
                self.engine.anomalies.restore(AnomalySnapshot.model_validate_json(raw))
            except ValidationError:
                unusable.append(key)
        for key, raw in stored.forecasts.items():
            try:
                forecast_state.restore(self.engine.forecasts, raw, now)
            except ValidationError:
                unusable.append(key)
        self.engine.baselines.take_changes()  # what was just read needs no writing back
        self.engine.anomalies.take_changes()
        self.bus.counters["windows_restored"] = len(self.engine.windows)
        self.bus.counters["baselines_restored"] = len(self.engine.baselines.baselines)
        self.bus.counters["anomaly_baselines_restored"] = len(self.engine.anomalies.detectors)
        dropped = (
            stored.unreadable
            + unusable
            + [silence_key(silence.silence_id) for silence in silences]
            + [threshold_key(rule) for rule in rules]
        )
        if dropped:
            log.warning("dropping alert state that is unreadable or out of bounds: %s", dropped)
            self.bus.counters["alert_state_dropped"] = len(dropped)
            await self.guard(self.store.forget(dropped))

    async def subscribe(self) -> list[Subscription]:
        """Subscribe to the events and the control subjects; returns the subscriptions."""
        subscriptions = [
            await self.bus.subscribe(pattern, self._on_event)
            for pattern in (subjects.REQUESTS_ALL, subjects.SYSTEM, subjects.OLLAMA_ALL)
        ]
        subscriptions.append(await self.bus.subscribe(subjects.HEARTBEAT_ALL, self._on_heartbeat))
        subscriptions.extend(await self.commands.subscribe())
        await self.bus.nc.flush()
        return subscriptions

    # Handlers --------------------------------------------------------------------------

    async def _on_event(self, event: Any, _msg: Msg) -> None:
        self.bus.counters["events_received"] += 1
        now = self.clock()
        match event:
            case OllamaModelMetrics():
                alerts = self.engine.on_request(event, now)
            case OllamaSystemMetrics():
                alerts = self.engine.on_system(event, now)
            case OllamaHealth():
                alerts = self.engine.on_health(event, now)
            case OllamaModelsSnapshot():
                alerts = self.engine.on_models(event, now)
            case ModelLifecycleEvent():
                alerts = self.engine.on_lifecycle(event, now)
            case _:
                return
        await self._publish(alerts)

    async def _on_heartbeat(self, heartbeat: Heartbeat, _msg: Msg) -> None:
        await self._publish(self.engine.on_heartbeat(heartbeat, self.clock()))

    # Loops -----------------------------------------------------------------------------

    async def evaluation_loop(self) -> None:
        """Let pending alerts fire and quiet ones resolve, every evaluation interval."""
        while True:
            await asyncio.sleep(self.settings.evaluation_interval_seconds)
            await self.commands.expire_silences()
            await self._publish(self.engine.tick(self.clock()))

    async def score_loop(self) -> None:
        """Publish the model scores every score interval."""
        while True:
            await asyncio.sleep(self.settings.score_interval_seconds)
            await self.publish_scores()

    async def save_loop(self) -> None:
        """Write the request windows and baselines every save interval."""
        while True:
            await asyncio.sleep(self.settings.state_save_interval_seconds)
            await self.save_learned()

    async def publish_scores(self) -> int:
        """Publish a score for every model with recent requests; returns how many."""
        scores = self.engine.scores(self.clock())
        for score in scores:
            self.emit(score)
        self.bus.counters["scores_published"] += len(scores)
        return len(scores)

    # Output ----------------------------------------------------------------------------

    async def _publish(self, alerts: list[OllamaPerformanceAlert]) -> None:
        # Alerts go out first (the outbox does not wait); the state write follows.
        for alert in alerts:
            self.emit(alert)
            state = "firing" if alert.state is AlertState.FIRING else "resolved"
            self.bus.counters[f"alerts_{state}_sent"] += 1
        self.bus.counters["alerts_active"] = len(self.engine.tracker.firing())
        await self.persist()

    def emit(self, event: Event) -> None:
        """Queue an event for the stream (alert, score, audit), counting what is dropped."""
        if not self.bus.emit(event):
            self.bus.counters["alerts_dropped"] += 1

    async def persist(self) -> None:
        """Write the alert changes not written yet (one writer at a time, in order)."""
        async with self._persist_lock:
            changed, removed = self.engine.tracker.take_changes()
            if not changed and not removed:
                return
            payload = [
                (record.fingerprint, record.model_dump_json().encode()) for record in changed
            ]
            await self.guard(self.store.save_records(payload, removed))

    async def close(self) -> None:
        """At shutdown: write the alert changes, then the windows and baselines."""
        await self.persist()
        await self.save_learned(final=True)

    async def save_learned(self, *, final: bool = False) -> None:
        """Write the windows that changed (purging emptied ones), the baselines, and the
        forecast series every `forecast_state.SAVE_INTERVAL_SECONDS` (and when `final`)."""
        engine = self.engine
        removed: list[str] = []
        windows: list[tuple[str, str, str, list[RequestSample]]] = []
        for host, model_name in sorted(engine.windows_changed):
            key = snapshots.state_key(WINDOW_PREFIX, host, model_name)
            window = engine.windows.get((host, model_name))
            if window is None or not window.samples:
                removed.append(key)
            else:
                windows.append((key, host, model_name, snapshots.kept_samples(window)))
        engine.windows_changed.clear()
        # Encoding a busy window takes about 1 ms per 1,000 requests: off the event loop.
        changed = await asyncio.to_thread(_encode_windows, windows)
        for host, model_name in engine.baselines.take_changes():
            key = snapshots.state_key(BASELINE_PREFIX, host, model_name)
            changed.append((key, snapshots.baseline_bytes(engine.baselines, host, model_name)))
        for host, model_name in engine.anomalies.take_changes():
            key = snapshots.state_key(ANOMALY_PREFIX, host, model_name)
            kept = engine.anomalies.snapshot(host, model_name)
            if kept.digests:
                changed.append((key, kept.model_dump_json().encode()))
            else:
                removed.append(key)
        changed.extend(self._forecasts_to_save(final))
        if changed or removed:
            await self.guard(self.store.save_learned(changed, removed))
            self.bus.counters["state_saves"] += 1

    def _forecasts_to_save(self, final: bool) -> list[tuple[str, bytes]]:
        now = asyncio.get_running_loop().time()
        if not final and now - self._forecasts_saved_at < forecast_state.SAVE_INTERVAL_SECONDS:
            return []
        self._forecasts_saved_at = now
        book = self.engine.forecasts
        return [
            (snapshots.state_key(FORECAST_PREFIX, host, ""), forecast_state.host_bytes(book, host))
            for host in book.take_changes()
        ]

    async def guard(self, write: Coroutine[Any, Any, None]) -> None:
        """Await a state write; a failed one is logged and counted, never raised."""
        try:
            await write
        except (nats.errors.Error, TimeoutError) as error:
            self.bus.counters["state_write_errors"] += 1
            log.error("could not write alert state: %r", error)


def _encode_windows(
    windows: list[tuple[str, str, str, list[RequestSample]]],
) -> list[tuple[str, bytes]]:
    return [
        (key, snapshots.window_bytes(host, model_name, samples))
        for key, host, model_name, samples in windows
    ]
