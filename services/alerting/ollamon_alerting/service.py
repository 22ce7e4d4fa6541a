"""The alerting service: subscribe, feed the engine, publish alerts and scores, keep state.

`running_alerting` reads top to bottom: connect, open the state bucket, restore, subscribe,
evaluate and score in the background, beat. Handlers only do I/O; every decision is the
engine's (pure code).
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

from ollamon_alerting.clock import Clock
from ollamon_alerting.engine import AlertEngine
from ollamon_alerting.rules import ThresholdRejectedError, UnknownRuleError
from ollamon_alerting.settings import AlertingSettings
from ollamon_alerting.silences import SilenceRejectedError
from ollamon_alerting.state_store import AlertStateStore, silence_key, threshold_key
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
    Silence,
    ThresholdUpdate,
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
        runtime.on_close(service.persist)  # after the subscriptions and loops have ended
        for subscription in await service.subscribe():
            runtime.unsubscribe_at_close(subscription)
        runtime.start_task(service.evaluation_loop(), name="alert-evaluation")
        runtime.start_task(service.score_loop(), name="alert-scores")
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
        self._persist_lock = asyncio.Lock()

    async def restore(self) -> None:
        """Take up the alerts, silences and thresholds kept in the state bucket.

        What does not parse, or what a live command with the same content would be refused
        for (a silence too long, a threshold out of range), is dropped from the bucket.
        """
        stored = await self.store.load()
        silences, rules = self.engine.restore(
            stored.records, stored.silences, self.clock(), stored.thresholds
        )
        self.bus.counters["alerts_restored"] = len(stored.records)
        dropped = (
            stored.unreadable
            + [silence_key(silence.silence_id) for silence in silences]
            + [threshold_key(rule) for rule in rules]
        )
        if dropped:
            log.warning("dropping alert state that is unreadable or out of bounds: %s", dropped)
            self.bus.counters["alert_state_dropped"] = len(dropped)
            await self._guard(self.store.forget(dropped))

    async def subscribe(self) -> list[Subscription]:
        """Subscribe to the events and the control subjects; returns the subscriptions."""
        subscriptions = [
            await self.bus.subscribe(pattern, self._on_event)
            for pattern in (subjects.REQUESTS_ALL, subjects.SYSTEM, subjects.OLLAMA_ALL)
        ]
        subscriptions.append(await self.bus.subscribe(subjects.HEARTBEAT_ALL, self._on_heartbeat))
        subscriptions.append(
            await self.bus.subscribe(subjects.CONTROL_THRESHOLD, self._on_threshold)
        )
        subscriptions.append(await self.bus.subscribe(subjects.CONTROL_SILENCE, self._on_silence))
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

    async def _on_threshold(self, update: ThresholdUpdate, _msg: Msg) -> None:
        try:
            rule = self.engine.set_threshold(update)
        except (UnknownRuleError, ThresholdRejectedError) as error:
            self.bus.counters["threshold_updates_rejected"] += 1
            log.warning("threshold update rejected: %s", error)
            return
        self.bus.counters["threshold_updates"] += 1
        log.info("threshold of %s set to %s", rule, update.threshold)
        await self._guard(self.store.save_threshold(rule, update.threshold))

    async def _on_silence(self, silence: Silence, _msg: Msg) -> None:
        try:
            in_force = self.engine.add_silence(silence, self.clock())
        except SilenceRejectedError as error:
            self.bus.counters["silences_rejected"] += 1
            log.warning("silence rejected: %s", error)
            return
        self.bus.counters["silences_received"] += 1
        log.info("silence %s %s", silence.silence_id, "added" if in_force else "lifted")
        await self._guard(self.store.save_silence(silence, in_force))

    # Loops -----------------------------------------------------------------------------

    async def evaluation_loop(self) -> None:
        """Let pending alerts fire and quiet ones resolve, every evaluation interval."""
        while True:
            await asyncio.sleep(self.settings.evaluation_interval_seconds)
            await self._publish(self.engine.tick(self.clock()))

    async def score_loop(self) -> None:
        """Publish the model scores every score interval."""
        while True:
            await asyncio.sleep(self.settings.score_interval_seconds)
            await self.publish_scores()

    async def publish_scores(self) -> int:
        """Publish a score for every model with recent requests; returns how many."""
        scores = self.engine.scores(self.clock())
        for score in scores:
            self._emit(score)
        self.bus.counters["scores_published"] += len(scores)
        return len(scores)

    # Output ----------------------------------------------------------------------------

    async def _publish(self, alerts: list[OllamaPerformanceAlert]) -> None:
        # Alerts go out first (the outbox does not wait); the state write follows.
        for alert in alerts:
            self._emit(alert)
            state = "firing" if alert.state is AlertState.FIRING else "resolved"
            self.bus.counters[f"alerts_{state}_sent"] += 1
        self.bus.counters["alerts_active"] = len(self.engine.tracker.firing())
        await self.persist()

    def _emit(self, event: Event) -> None:
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
            await self._guard(self.store.save_records(payload, removed))

    async def _guard(self, write: Coroutine[Any, Any, None]) -> None:
        try:
            await write
        except (nats.errors.Error, TimeoutError) as error:
            self.bus.counters["state_write_errors"] += 1
            log.error("could not write alert state: %r", error)
