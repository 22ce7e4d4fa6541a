"""The collector service: sample the host at the interval, publish, obey control messages.

`running_collector` reads top to bottom: connect, build the sampler, subscribe (control,
the probe's model snapshots), start from the last snapshot kept, sample and beat. Sampling
runs in a worker thread (`asyncio.to_thread`) since psutil and NVML block on /proc and the
driver.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import nats.errors
import nats.js.errors
from pydantic import ValidationError

from ollamon_collector.models_state import LatestModels
from ollamon_collector.sampling_control import SamplingState, SamplingSwitch
from ollamon_collector.settings import CollectorSettings
from ollamon_collector.system_sampler import SystemSampler, build_system_sampler
from ollamon_core import subjects
from ollamon_core.bus import Bus, SpoolConfig
from ollamon_core.events import MonitoringControl, OllamaModelsSnapshot, ServiceName
from ollamon_core.runtime import ServiceRuntime, service_runtime

log = logging.getLogger(__name__)

SamplerFactory = Callable[[CollectorSettings], SystemSampler]


@contextlib.asynccontextmanager
async def running_collector(
    settings: CollectorSettings,
    *,
    sampler_factory: SamplerFactory = build_system_sampler,
) -> AsyncIterator[ServiceRuntime]:
    """Run the collector until the block ends.

    Args:
        settings: the collector's settings.
        sampler_factory: builds the system sampler (tests pass one with a fake NVML).
    """
    spool = SpoolConfig(
        settings.spool_folder(ServiceName.COLLECTOR.value), settings.spool_max_bytes
    )
    async with service_runtime(ServiceName.COLLECTOR, settings, spool=spool) as runtime:
        bus = runtime.bus
        sampler = await asyncio.to_thread(sampler_factory, settings)
        runtime.on_close(sampler.close)
        switch = SamplingSwitch(
            SamplingState(running=True, interval_seconds=settings.monitoring_interval_seconds)
        )
        models = LatestModels(settings.host_label)
        tracker = sampler.host.ollama_processes

        async def on_control(control: MonitoringControl, _msg: Any) -> None:
            state = switch.apply(control)
            log.info("sampling %s every %.3g s", state.label, state.interval_seconds)

        async def on_models(snapshot: OllamaModelsSnapshot, _msg: Any) -> None:
            if models.update(snapshot):
                tracker.request_rescan()  # runners start and stop with model loads

        runtime.unsubscribe_at_close(await bus.subscribe(subjects.CONTROL_MONITORING, on_control))
        runtime.unsubscribe_at_close(await bus.subscribe(subjects.OLLAMA_MODELS, on_models))
        await load_latest_snapshot(bus, models)
        runtime.start_task(
            sampling_loop(bus, sampler, switch, models, settings.host_label), name="sampling"
        )
        runtime.start_heartbeat(lambda: switch.state.label)
        yield runtime


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
