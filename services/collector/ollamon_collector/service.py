"""The collector service: sample the host at the interval, publish, obey control messages.

Reads top to bottom: connect, streams, subscriptions (control, the probe's model
snapshots), the sampling and heartbeat tasks, wait for stop, clean up. Sampling runs in a
worker thread (`asyncio.to_thread`) since psutil and NVML block on /proc and the driver.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

import nats.errors
import nats.js.errors
from pydantic import ValidationError

from ollamon_collector.models_state import LatestModels
from ollamon_collector.sampling_control import SamplingState, SamplingSwitch
from ollamon_collector.settings import CollectorSettings
from ollamon_collector.system_sampler import SystemSampler, build_system_sampler
from ollamon_core import subjects
from ollamon_core.bus import Bus
from ollamon_core.events import MonitoringControl, OllamaModelsSnapshot, ServiceName
from ollamon_core.runtime import heartbeat_loop

log = logging.getLogger(__name__)

SamplerFactory = Callable[[CollectorSettings], SystemSampler]


async def run_collector(
    settings: CollectorSettings,
    stop: asyncio.Event,
    *,
    sampler_factory: SamplerFactory = build_system_sampler,
) -> None:
    """Run the collector until `stop` is set.

    Args:
        settings: the collector's settings.
        stop: set by SIGTERM/SIGINT (or a test) to end the service.
        sampler_factory: builds the system sampler (tests pass one with a fake NVML).
    """
    bus = await Bus.connect(settings.nats_url, ServiceName.COLLECTOR)
    sampler: SystemSampler | None = None
    tasks: list[asyncio.Task[None]] = []
    try:
        await bus.ensure_streams()
        sampler = built = await asyncio.to_thread(sampler_factory, settings)
        switch = SamplingSwitch(
            SamplingState(running=True, interval_seconds=settings.monitoring_interval_seconds)
        )
        models = LatestModels(settings.host_label)
        tracker = built.host.ollama_processes

        async def on_control(control: MonitoringControl, _msg: Any) -> None:
            state = switch.apply(control)
            log.info("sampling %s every %.3g s", state.label, state.interval_seconds)

        async def on_models(snapshot: OllamaModelsSnapshot, _msg: Any) -> None:
            if models.update(snapshot):
                tracker.request_rescan()  # runners start and stop with model loads

        await bus.subscribe(subjects.CONTROL_MONITORING, on_control)
        await bus.subscribe(subjects.OLLAMA_MODELS, on_models)
        await load_latest_snapshot(bus, models)
        tasks = [
            asyncio.create_task(
                sampling_loop(bus, built, switch, models, settings.host_label), name="sampling"
            ),
            asyncio.create_task(
                heartbeat_loop(
                    bus,
                    ServiceName.COLLECTOR,
                    settings.host_label,
                    settings.heartbeat_interval_seconds,
                    state=lambda: switch.state.label,
                ),
                name="heartbeat",
            ),
        ]
        await stop.wait()
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if sampler is not None:
            sampler.close()
        await bus.close()


async def load_latest_snapshot(bus: Bus, models: LatestModels) -> None:
    """Start from the last model snapshot the stream kept, if any (the probe polls slowly)."""
    with contextlib.suppress(nats.errors.Error, TimeoutError, ValidationError):
        message = await bus.js.get_last_msg(subjects.STREAM_EVENTS, subjects.OLLAMA_MODELS)
        if message.data:
            models.update(OllamaModelsSnapshot.model_validate_json(message.data))


async def sampling_loop(
    bus: Bus,
    sampler: SystemSampler,
    switch: SamplingSwitch,
    models: LatestModels,
    host_label: str,
) -> None:
    """Sample every interval while running; a control change applies at once.

    After a start or an interval change the next sample is taken immediately, then every
    interval from there. A sample that was being taken when a stop arrived is dropped.
    """
    loop = asyncio.get_running_loop()
    next_due = loop.time()
    while True:
        state = switch.state
        if not state.running:
            await switch.wait_for_change(None)
            next_due = loop.time()
            continue
        delay = next_due - loop.time()
        if delay > 0 and await switch.wait_for_change(delay):
            next_due = loop.time()
            continue
        started = loop.time()
        try:
            metrics = await asyncio.to_thread(
                sampler.sample,
                models.counts(),
                host_label=host_label,
                interval_seconds=state.interval_seconds,
            )
        except Exception:
            bus.counters["sample_errors"] += 1
            if bus.counters["sample_errors"] == 1:
                log.exception("sampling failed (later failures are only counted)")
        else:
            if switch.state.running:
                bus.emit(metrics)
                bus.counters["samples"] += 1
        # Never burst to catch up after a slow sample: the next one is an interval away.
        next_due = max(started + switch.state.interval_seconds, loop.time())
