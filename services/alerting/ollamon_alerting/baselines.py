"""Each model's own tokens/s baseline, per host and digest.

The baseline is the median generation rate of a model's first `min_samples` successful
requests on a host with a given digest (the digest comes from the probe's `/api/ps`
snapshots). It then stays fixed, so a later slowdown (a driver or Ollama upgrade, thermal
throttling) is measured against it instead of being learned away. A new digest (the tag was
re-pulled) starts a new baseline.
"""

from __future__ import annotations

from statistics import median

BaselineKey = tuple[str, str, str]  # host, model, digest ("" where unknown)


class BaselineBook:
    """Learns and keeps tokens/s baselines."""

    def __init__(self, min_samples: int) -> None:
        self.min_samples = min_samples
        self.baselines: dict[BaselineKey, float] = {}
        self.learning: dict[BaselineKey, list[float]] = {}
        self._digests: dict[tuple[str, str], str] = {}
        self._changed: set[tuple[str, str]] = set()

    def set_digest(self, host: str, model_name: str, digest: str) -> None:
        """Remember which build of a model a host runs now."""
        if digest and self._digests.get((host, model_name)) != digest:
            self._digests[(host, model_name)] = digest
            self._changed.add((host, model_name))

    def digest(self, host: str, model_name: str) -> str:
        """The digest a host runs a model with now ("" where unknown)."""
        return self._digests.get((host, model_name), "")

    def take_changes(self) -> list[tuple[str, str]]:
        """The (host, model)s whose baselines changed since the last call (to persist)."""
        changed = sorted(self._changed)
        self._changed.clear()
        return changed

    def key(self, host: str, model_name: str) -> BaselineKey:
        """The baseline key of a model on a host, with its current digest."""
        return (host, model_name, self._digests.get((host, model_name), ""))

    def add(self, host: str, model_name: str, tokens_per_second: float) -> None:
        """Learn from one successful request until the baseline is set."""
        key = self.key(host, model_name)
        if key in self.baselines or tokens_per_second <= 0:
            return
        learning = self.learning.setdefault(key, [])
        learning.append(tokens_per_second)
        self._changed.add((host, model_name))
        if len(learning) >= self.min_samples:
            self.baselines[key] = float(median(learning))
            del self.learning[key]

    def baseline(self, host: str, model_name: str) -> float | None:
        """The baseline of a model on a host (current digest), once learned."""
        return self.baselines.get(self.key(host, model_name))


def drop_percent(current: float, baseline: float) -> float:
    """How far (percent) `current` is below `baseline`; 0 when it is not below."""
    if baseline <= 0:
        return 0.0
    return max(0.0, 100.0 * (baseline - current) / baseline)
