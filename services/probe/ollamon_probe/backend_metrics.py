"""Read a server's own Prometheus metrics into a `BackendLoad` (pure, no I/O).

llama.cpp's server exposes `/metrics` with `--metrics` (`llamacpp:` names), vLLM always
(`vllm:` names, one series per served model). Only the sample lines of the few metrics that
matter are handed to prometheus-client's parser, so a large exposition (vLLM's histograms)
costs a line scan; the caller bounds the bytes read. Token rates come from the counters'
growth between two polls.
"""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client.parser import text_string_to_metric_families

from ollamon_core.events import BackendLoad

# Field of BackendLoad -> the sample names that give it (llama.cpp, vLLM old and new).
_SUMMED = {
    "requests_processing": ("llamacpp:requests_processing", "vllm:num_requests_running"),
    "requests_waiting": ("llamacpp:requests_deferred", "vllm:num_requests_waiting"),
    "tokens_generated_total": (
        "llamacpp:tokens_predicted_total",
        "vllm:generation_tokens_total",
    ),
    "prompt_tokens_total": ("llamacpp:prompt_tokens_total", "vllm:prompt_tokens_total"),
}
# Ratios 0-1; with several models the fullest one counts.
_KV_RATIOS = (
    "llamacpp:kv_cache_usage_ratio",
    "vllm:gpu_cache_usage_perc",
    "vllm:kv_cache_usage_perc",
)
_WANTED = frozenset(name for names in _SUMMED.values() for name in names) | frozenset(_KV_RATIOS)
_PREFIXES = tuple(sorted({name.split(":")[0] + ":" for name in _WANTED}))


def wanted_lines(text: str) -> str:
    """The sample lines of the metrics that matter (no comments, nothing else)."""
    kept = []
    for line in text.splitlines():
        if not line.startswith(_PREFIXES):
            continue
        name = line.split("{", 1)[0].split(" ", 1)[0]
        if name in _WANTED:
            kept.append(line)
    return "\n".join(kept) + "\n"


def read_samples(text: str) -> dict[str, list[float]]:
    """Every value of each wanted sample name (one per label set)."""
    found: dict[str, list[float]] = {}
    for family in text_string_to_metric_families(wanted_lines(text)):
        for sample in family.samples:
            found.setdefault(sample.name, []).append(float(sample.value))
    return found


def _sum_of(found: dict[str, list[float]], names: tuple[str, ...]) -> float | None:
    for name in names:
        if name in found:
            return sum(found[name])
    return None


@dataclass(frozen=True)
class Reading:
    """One poll's load, and when it was read (seconds, a monotonic clock)."""

    load: BackendLoad
    at: float


def read_load(text: str, at: float, previous: Reading | None) -> Reading | None:
    """The load a `/metrics` text says, rates against `previous`; None when it holds none
    of the metrics that matter (not a llama.cpp or vLLM exposition)."""
    found = read_samples(text)
    if not found:
        return None
    values = {field: _sum_of(found, names) for field, names in _SUMMED.items()}
    ratios = [value for name in _KV_RATIOS for value in found.get(name, [])]
    load = BackendLoad(
        requests_processing=values["requests_processing"],
        requests_waiting=values["requests_waiting"],
        kv_cache_usage_percent=round(max(ratios) * 100.0, 3) if ratios else None,
        tokens_generated_total=values["tokens_generated_total"],
        prompt_tokens_total=values["prompt_tokens_total"],
    )
    if previous is not None and at > previous.at:
        seconds = at - previous.at
        load = load.model_copy(
            update={
                "tokens_per_second": _rate(
                    load.tokens_generated_total, previous.load.tokens_generated_total, seconds
                ),
                "prompt_tokens_per_second": _rate(
                    load.prompt_tokens_total, previous.load.prompt_tokens_total, seconds
                ),
            }
        )
    return Reading(load, at)


def _rate(now: float | None, before: float | None, seconds: float) -> float | None:
    """Growth per second; None when unknown or the counter went back (a restart)."""
    if now is None or before is None or now < before:
        return None
    return round((now - before) / seconds, 3)
