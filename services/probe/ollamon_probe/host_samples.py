"""The collector's latest system sample per host, for the GPU utilisation of each request.

The probe subscribes to `ollamon.system` and keeps the newest sample of every host label;
a request's event carries its host's `gpu_usage_percent` when that sample is recent
(`max_age_seconds`, a few sampling intervals): a sample older than that describes another
moment, and a request then says nothing rather than something stale. Pure; time is
passed in.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from ollamon_core.events import OllamaSystemMetrics


class HostSamples:
    """The newest `OllamaSystemMetrics` of each host."""

    def __init__(self, max_age_seconds: float) -> None:
        self.max_age = timedelta(seconds=max_age_seconds)
        self._latest: dict[str, OllamaSystemMetrics] = {}

    def add(self, sample: OllamaSystemMetrics) -> None:
        """Keep `sample` when it is not older than the one held for its host."""
        held = self._latest.get(sample.host)
        if held is None or sample.timestamp >= held.timestamp:
            self._latest[sample.host] = sample

    def gpu_utilization_percent(self, host: str, now: datetime) -> float | None:
        """`host`'s GPU utilisation in its latest sample, None when none is recent or it
        saw no GPU."""
        sample = self._latest.get(host)
        if sample is None or now - sample.timestamp > self.max_age:
            return None
        return sample.gpu_usage_percent

    def gpu_name(self, host: str) -> str | None:
        """The GPU(s) of `host` in its latest sample, whatever its age: `NVIDIA H200`,
        `2x NVIDIA H200`, or the names joined; None when no sample saw a named GPU."""
        sample = self._latest.get(host)
        names = [gpu.name for gpu in sample.gpus if gpu.name] if sample is not None else []
        if not names:
            return None
        if len(set(names)) == 1:
            return names[0] if len(names) == 1 else f"{len(names)}x {names[0]}"
        return ", ".join(names)
