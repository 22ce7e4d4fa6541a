"""What to change, naming the Ollama setting involved (pure code).

`for_alert` gives the one recommendation an alert carries; `for_model` the list a score
carries, from what the model's window of requests shows.
"""

from __future__ import annotations

from ollamon_alerting.rules import RuleName
from ollamon_alerting.windows import COLD_LOAD_MS, WindowStats
from ollamon_core.events import Recommendation

REPEATED_COLD_LOADS = 3

KEEP_ALIVE = Recommendation(
    setting="OLLAMA_KEEP_ALIVE / keep_alive",
    action="Keep the model loaded longer: OLLAMA_KEEP_ALIVE=30m on the server, or "
    "keep_alive in the request",
    reason="the model is loaded again and again (cold starts)",
)
PARALLEL = Recommendation(
    setting="OLLAMA_NUM_PARALLEL / OLLAMA_MAX_QUEUE",
    action="Raise OLLAMA_NUM_PARALLEL if memory allows, or OLLAMA_MAX_QUEUE to queue instead "
    "of refusing",
    reason="requests wait in Ollama's queue or are refused with 503",
)
NUM_CTX = Recommendation(
    setting="num_ctx",
    action="Raise num_ctx in the request options (or the Modelfile), or shorten the prompt",
    reason="requests fill the context window, so Ollama truncates them",
)
OFFLOAD = Recommendation(
    setting="quantisation / OLLAMA_MAX_LOADED_MODELS",
    action="Use a smaller quantisation (e.g. q4_K_M) or load fewer models at once "
    "(OLLAMA_MAX_LOADED_MODELS=1)",
    reason="the model does not fit in VRAM and runs partly on the CPU",
)
MEMORY = Recommendation(
    setting="OLLAMA_MAX_LOADED_MODELS / quantisation",
    action="Load fewer models at once (OLLAMA_MAX_LOADED_MODELS=1) or use a smaller quantisation",
    reason="the host is short of memory",
)
NUM_PREDICT = Recommendation(
    setting="num_predict",
    action="Cap the reply length with num_predict, or use a smaller model",
    reason="generation itself takes long",
)
DEBUG = Recommendation(
    setting="OLLAMA_DEBUG",
    action="Run Ollama with OLLAMA_DEBUG=1 and read the error messages in the request history",
    reason="requests fail for reasons other than overload",
)
CPU = Recommendation(
    setting="num_thread / num_gpu",
    action="Check whether the model runs on the CPU (num_gpu, partial offload); limit "
    "num_thread if other work needs the CPU",
    reason="the CPU is saturated",
)
GPU = Recommendation(
    setting="OLLAMA_NUM_PARALLEL",
    action="Lower OLLAMA_NUM_PARALLEL or spread models over more GPUs",
    reason="the GPU is saturated",
)
VRAM = Recommendation(
    setting="OLLAMA_MAX_LOADED_MODELS / num_ctx / OLLAMA_KV_CACHE_TYPE",
    action="Load fewer models at once (OLLAMA_MAX_LOADED_MODELS=1), lower num_ctx, or quantise "
    "the KV cache (OLLAMA_KV_CACHE_TYPE=q8_0 with OLLAMA_FLASH_ATTENTION=1)",
    reason="the GPU's memory is full, so the next model or a longer context spills to the CPU",
)
DISK = Recommendation(
    setting="OLLAMA_MODELS",
    action="Remove unused models (ollama rm) or move OLLAMA_MODELS to a larger disk",
    reason="the disk is nearly full",
)
UNREACHABLE = Recommendation(
    setting="OLLAMA_HOST",
    action="Check that `ollama serve` runs and that OLLAMA_HOST matches the probe's "
    "OLLAMON_OLLAMA_URL",
    reason="Ollama does not answer",
)
REGRESSION = Recommendation(
    setting="quantisation / GPU driver",
    action="Compare the model digest and quantisation (ollama show), the GPU driver and "
    "Ollama versions, and GPU clocks (thermal throttling)",
    reason="the model generates slower than its own baseline",
)
BACKLOG = Recommendation(
    setting="OLLAMON_NATS_URL",
    action="Check that NATS runs and accepts the service's events (the service's log); "
    "the spool replays them once it does, and holds up to OLLAMON_SPOOL_MAX_BYTES",
    reason="events wait on disk because NATS does not acknowledge them",
)
BYPASS = Recommendation(
    setting="OLLAMA_HOST / the client's base URL",
    action="Point the named clients at the probe's proxy (OLLAMON_PROXY_PORT, 11435) instead "
    "of Ollama's port 11434, or bind Ollama to 127.0.0.1 so only the proxy reaches it",
    reason="requests that bypass the proxy have no model, tokens or time to first token",
)
ANOMALY = Recommendation(
    setting="OLLAMA_NUM_PARALLEL / OLLAMA_MAX_LOADED_MODELS / Ollama version",
    action="Check what changed when it began: other models loaded on the GPU, parallel load, "
    "an Ollama or driver upgrade, GPU clocks (thermal throttling); a lasting change is "
    "learned as the new normal and the alert resolves",
    reason="the model is slower than its own recent requests at this hour",
)

_FIXED: dict[RuleName, Recommendation] = {
    RuleName.MODEL_LOAD: KEEP_ALIVE,
    RuleName.CONTEXT_OVERFLOW: NUM_CTX,
    RuleName.HIGH_MEMORY: MEMORY,
    RuleName.HIGH_CPU: CPU,
    RuleName.HIGH_GPU: GPU,
    RuleName.VRAM_FULL: VRAM,
    RuleName.DISK_SPACE: DISK,
    RuleName.OLLAMA_UNREACHABLE: UNREACHABLE,
    RuleName.PARTIAL_OFFLOAD: OFFLOAD,
    RuleName.TOKENS_PER_SECOND_REGRESSION: REGRESSION,
    RuleName.TELEMETRY_BACKLOG: BACKLOG,
    RuleName.PROXY_BYPASSED: BYPASS,
    RuleName.PERFORMANCE_ANOMALY: ANOMALY,
}


def queued(stats: WindowStats | None) -> bool:
    """Requests of a model that was resident (no cold start in the window) still waited long
    before it was ready: that `load_duration` is Ollama's queue (the probe's queue_wait_ms),
    not loading."""
    return (
        stats is not None
        and stats.cold_start_count == 0
        and (stats.load_duration_p95_ms or 0.0) > COLD_LOAD_MS
    )


def for_alert(rule: RuleName, stats: WindowStats | None) -> Recommendation:
    """The recommendation an alert of `rule` carries, given its model's recent requests."""
    if rule is RuleName.MODEL_LOAD and queued(stats):
        return PARALLEL  # a long load_duration without a load: queue wait
    if rule in _FIXED:
        return _FIXED[rule]
    overloaded = stats is not None and stats.overloaded_count > 0
    cold = stats is not None and stats.cold_start_count > 0
    if rule is RuleName.LOW_SUCCESS_RATE:
        return PARALLEL if overloaded else DEBUG
    if overloaded:
        return PARALLEL
    if cold:
        return KEEP_ALIVE
    return NUM_PREDICT if rule is RuleName.SLOW_RESPONSE else PARALLEL


def for_model(
    stats: WindowStats, offload_percent: float, memory_pressure: bool
) -> list[Recommendation]:
    """Every recommendation a model's window of requests and residency call for."""
    found: list[Recommendation] = []
    if stats.cold_start_count >= REPEATED_COLD_LOADS:
        found.append(KEEP_ALIVE)
    if stats.overloaded_count > 0 or queued(stats):
        found.append(PARALLEL)
    if stats.context_full_count > 0:
        found.append(NUM_CTX)
    if offload_percent > 0:
        found.append(OFFLOAD)
    elif memory_pressure:
        found.append(MEMORY)
    return found


def describe(recommendation: Recommendation) -> str:
    """The one-line text an alert's `recommendation` field carries."""
    return f"{recommendation.action} ({recommendation.reason}) [{recommendation.setting}]"
