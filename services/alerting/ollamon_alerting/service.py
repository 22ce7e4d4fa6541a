"""The alerting service: subscribe, feed the engine, publish alerts and scores, keep state.

Handlers only do I/O; every decision is the engine's (pure code).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

import nats.errors
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from ollamon_alerting.clock import Clock
from ollamon_alerting.engine import AlertEngine
from ollamon_alerting.rules import UnknownRuleError
from ollamon_alerting.settings import AlertingSettings
from ollamon_alerting.state_store import AlertStateStore
from ollamon_core import subjects
from ollamon_core.bus import Bus
from ollamon_core.events import (
    AlertState,
    Event,
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
from ollamon_core.runtime import heartbeat_loop

log = logging.getLogger(__name__)


class AlertingService:
    """One running alerting service over a connected bus and a state store."""

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
        self._subscriptions: list[Subscription] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._persist_lock = asyncio.Lock()

    async def start(self) -> None:
        """Restore the kept state, subscribe, start evaluation, score and heartbeat loops."""
        stored = await self.store.load()
        self.engine.restore(stored.records, stored.silences, self.clock())
        self.engine.thresholds.update(stored.thresholds)
        self.bus.counters["alerts_restored"] = len(stored.records)
        for pattern in (subjects.REQUESTS_ALL, subjects.SYSTEM, subjects.OLLAMA_ALL):
            self._subscriptions.append(await self.bus.subscribe(pattern, self._on_event))
        self._subscriptions.append(
            await self.bus.subscribe(subjects.CONTROL_THRESHOLD, self._on_threshold)
        )
        self._subscriptions.append(
            await self.bus.subscribe(subjects.CONTROL_SILENCE, self._on_silence)
        )
        await self.bus.nc.flush()
        self._spawn(self._evaluation_loop(), "alert-evaluation")
        self._spawn(self._score_loop(), "alert-scores")
        self._spawn(
            heartbeat_loop(
                self.bus,
                ServiceName.ALERTING,
                self.settings.host_label,
                self.settings.heartbeat_interval_seconds,
            ),
            "alert-heartbeat",
        )

    async def stop(self) -> None:
        """Stop the loops and subscriptions, then write what is left of the state."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        for subscription in self._subscriptions:
            with contextlib.suppress(nats.errors.Error):
                await subscription.unsubscribe()
        self._subscriptions.clear()
        await self._persist()

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

    async def _on_threshold(self, update: ThresholdUpdate, _msg: Msg) -> None:
        try:
            rule = self.engine.set_threshold(update)
        except (UnknownRuleError, ValueError) as error:
            self.bus.counters["threshold_updates_rejected"] += 1
            log.warning("threshold update rejected: %s", error)
            return
        self.bus.counters["threshold_updates"] += 1
        log.info("threshold of %s set to %s", rule, update.threshold)
        await self._guard(self.store.save_threshold(rule, update.threshold))

    async def _on_silence(self, silence: Silence, _msg: Msg) -> None:
        in_force = self.engine.add_silence(silence, self.clock())
        self.bus.counters["silences_received"] += 1
        log.info("silence %s %s", silence.silence_id, "added" if in_force else "lifted")
        await self._guard(self.store.save_silence(silence, in_force))

    # Loops -----------------------------------------------------------------------------

    async def _evaluation_loop(self) -> None:
        while True:
            await asyncio.sleep(self.settings.evaluation_interval_seconds)
            await self._publish(self.engine.tick(self.clock()))

    async def _score_loop(self) -> None:
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
        await self._persist()

    def _emit(self, event: Event) -> None:
        if not self.bus.emit(event):
            self.bus.counters["alerts_dropped"] += 1

    async def _persist(self) -> None:
        # One writer at a time, taking the changes inside the lock, so writes keep their order.
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

    def _spawn(self, coroutine: Coroutine[Any, Any, None], name: str) -> None:
        self._tasks.append(asyncio.create_task(coroutine, name=name))


@contextlib.asynccontextmanager
async def running_alerting(
    settings: AlertingSettings, clock: Clock = utc_now
) -> AsyncIterator[AlertingService]:
    """Connect, create the streams and the state bucket, run the service, and clean up."""
    bus = await Bus.connect(settings.nats_url, ServiceName.ALERTING)
    try:
        await bus.ensure_streams()
        store = await AlertStateStore.open(bus.js)
        service = AlertingService(settings, bus, store, clock)
        await service.start()
        try:
            yield service
        finally:
            await service.stop()
    finally:
        await bus.close()


ServiceMain = Callable[[asyncio.Event], Coroutine[Any, Any, None]]


def service_main(settings: AlertingSettings) -> ServiceMain:
    """The `main(stop)` that `run_service` runs: serve until `stop` is set."""

    async def main(stop: asyncio.Event) -> None:
        async with running_alerting(settings):
            log.info("alerting ready on %s", settings.nats_url)
            await stop.wait()

    return main
