"""Turn events into observations: one rule's current value for a (host, model).

Pure functions over the event models. A value of None means "no data" (too few requests in
the window), which counts as cleared for an alert already firing.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from ollamon_alerting.baselines import drop_percent
from ollamon_alerting.rules import RuleName
from ollamon_alerting.windows import WindowStats
from ollamon_core.events import (
    AnomalyEvidence,
    BackendKind,
    Heartbeat,
    LifecycleChange,
    ModelLifecycleEvent,
    OllamaHealth,
    OllamaModelsSnapshot,
    OllamaSystemMetrics,
)


class Verdict(StrEnum):
    """What an observation says of its rule's condition."""

    BREACH = "breach"  # the condition holds
    HOLD = "hold"  # not over the threshold, not yet down to the resolve level either
    CLEAR = "clear"  # at or below the resolve level, or no data


@dataclass(frozen=True)
class Observation:
    """One rule's value for one (host, model) at one moment.

    Without a `verdict` the lifecycle compares `value` with the threshold; the per-request
    rules give theirs (k of the last n requests). `immediate` fires the alert without its
    pending time (one severe breach). `evidence` is what the alert shows of a breach beyond
    its value (performance_anomaly).
    """

    rule: RuleName
    host: str
    model_name: str | None
    value: float | None
    detail: str = ""
    verdict: Verdict | None = None
    immediate: bool = False
    evidence: AnomalyEvidence | None = None


def window_observations(
    host: str,
    model_name: str,
    stats: WindowStats | None,
    baseline_tokens_per_second: float | None,
    min_requests: int,
) -> list[Observation]:
    """Windowed rules: success rate, TTFT p95 and tokens/s against the baseline."""
    error_rate: float | None = None
    ttft_p95: float | None = None
    regression: float | None = None
    detail = ""
    if stats is not None:
        if stats.request_count >= min_requests:
            error_rate = stats.error_rate_percent
        if stats.time_to_first_token_count >= min_requests:
            ttft_p95 = stats.time_to_first_token_p95_ms
        if (
            baseline_tokens_per_second is not None
            and stats.tokens_per_second_mean is not None
            and stats.tokens_per_second_count >= min_requests
        ):
            regression = drop_percent(stats.tokens_per_second_mean, baseline_tokens_per_second)
            detail = (
                f"{stats.tokens_per_second_mean:.1f} tokens/s against a baseline of "
                f"{baseline_tokens_per_second:.1f}"
            )
    return [
        Observation(RuleName.LOW_SUCCESS_RATE, host, model_name, error_rate),
        Observation(RuleName.TTFT_P95, host, model_name, ttft_p95),
        Observation(RuleName.TOKENS_PER_SECOND_REGRESSION, host, model_name, regression, detail),
    ]


def system_observations(event: OllamaSystemMetrics) -> list[Observation]:
    """Host rules: memory, CPU, GPU (when known) and disk."""
    host = event.host
    found = [
        Observation(RuleName.HIGH_MEMORY, host, None, event.memory_usage_percent),
        Observation(RuleName.HIGH_CPU, host, None, event.cpu_usage_percent),
    ]
    gpu_values = [gpu.utilization_percent for gpu in event.gpus if gpu.utilization_percent]
    gpu = event.gpu_usage_percent
    if gpu_values:
        gpu = max([*gpu_values, gpu or 0.0])
    if gpu is not None:
        found.append(Observation(RuleName.HIGH_GPU, host, None, gpu))
    vram = vram_observation(event)
    if vram is not None:
        found.append(vram)
    disk = max(event.disk_usage_percent, event.storage_disk_usage_percent or 0.0)
    found.append(Observation(RuleName.DISK_SPACE, host, None, disk))
    return found


def vram_observation(event: OllamaSystemMetrics) -> Observation | None:
    """The fullest GPU's memory in use (percent), per GPU where known, else the host's
    totals; None without a GPU."""
    fullest: tuple[float, str] | None = None
    for gpu in event.gpus:
        if gpu.memory_used_bytes is None or not gpu.memory_total_bytes:
            continue
        percent = 100.0 * gpu.memory_used_bytes / gpu.memory_total_bytes
        if fullest is None or percent > fullest[0]:
            label = f"GPU {gpu.index}" + (f" ({gpu.name})" if gpu.name else "")
            used_gib = gpu.memory_used_bytes / 2**30
            total_gib = gpu.memory_total_bytes / 2**30
            fullest = (percent, f"{label}: {used_gib:.1f} of {total_gib:.1f} GiB in use")
    if fullest is None and event.gpu_memory_used_gb is not None and event.gpu_memory_total_gb:
        percent = 100.0 * event.gpu_memory_used_gb / event.gpu_memory_total_gb
        total = event.gpu_memory_total_gb
        fullest = (percent, f"{event.gpu_memory_used_gb:.1f} of {total:.1f} GB in use")
    if fullest is None:
        return None
    return Observation(RuleName.VRAM_FULL, event.host, None, fullest[0], fullest[1])


def health_observation(event: OllamaHealth) -> Observation:
    """Ollama (or the server of another `backend`: llama.cpp, OpenAI-compatible) reachable
    (0) or not (1); the detail names a server that is not Ollama by its kind."""
    server = event.ollama_url
    if event.backend is not BackendKind.OLLAMA:
        server = f"{event.backend.display_name} at {server}"
    detail = server + (f": {event.error_message}" if event.error_message else "")
    return Observation(
        RuleName.OLLAMA_UNREACHABLE, event.host, None, 0.0 if event.up else 1.0, detail
    )


def offload_percent(size_bytes: int, size_vram_bytes: int) -> float:
    """Percent of a loaded model held outside VRAM (0 when the size is unknown)."""
    if size_bytes <= 0:
        return 0.0
    return max(0.0, 100.0 * (size_bytes - size_vram_bytes) / size_bytes)


def offload_observations(
    event: OllamaModelsSnapshot, previously_loaded: set[str]
) -> list[Observation]:
    """Partial offload of every loaded model; models no longer loaded observe 0."""
    found = []
    loaded_names = set()
    for model in event.loaded:
        loaded_names.add(model.name)
        percent = offload_percent(model.size_bytes, model.size_vram_bytes)
        detail = f"{model.size_vram_bytes} of {model.size_bytes} bytes in VRAM"
        found.append(Observation(RuleName.PARTIAL_OFFLOAD, event.host, model.name, percent, detail))
    for name in sorted(previously_loaded - loaded_names):
        found.append(Observation(RuleName.PARTIAL_OFFLOAD, event.host, name, 0.0))
    return found


def lifecycle_observation(event: ModelLifecycleEvent) -> Observation:
    """A model load tells its offload share; an unload or eviction clears it."""
    if event.change is LifecycleChange.LOADED:
        percent = offload_percent(event.size_bytes, event.size_vram_bytes)
    else:
        percent = 0.0
    return Observation(RuleName.PARTIAL_OFFLOAD, event.host, event.model_name, percent)


SpoolBacklog = dict[str, tuple[float, float]]  # service -> (oldest event's age s, events)


def backlog_observation(host: str, backlog: SpoolBacklog) -> Observation:
    """The age of the oldest event waiting in any spool of the host's services (0 when all
    are empty), with each waiting service named in the detail."""
    waiting = {service: figures for service, figures in sorted(backlog.items()) if figures[1]}
    age = max((figures[0] for figures in waiting.values()), default=0.0)
    detail = ", ".join(
        f"{service}: {events:.0f} events, oldest {oldest:.0f} s"
        for service, (oldest, events) in waiting.items()
    )
    return Observation(RuleName.TELEMETRY_BACKLOG, host, None, age, detail)


def spool_figures(heartbeat: Heartbeat) -> tuple[float, float] | None:
    """(oldest event's age, events) of a heartbeat's spool; None for a service without one."""
    counters = heartbeat.counters
    if "spool_events" not in counters:
        return None
    return counters.get("spool_oldest_age_seconds", 0.0), counters["spool_events"]
