"""Making metric families in one registry, and the bounded `model` label they share."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

MODEL = ("model", "host")
GPU = ("host", "gpu")
MAX_MODELS_PER_HOST = 64
OTHER_MODEL = "(other)"


class Families:
    """Makes gauges, counters and histograms registered in one registry (no globals).

    Args:
        registry: the registry every family is registered in.
    """

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry

    def gauge(self, name: str, text: str, labels: tuple[str, ...] = ()) -> Gauge:
        """A gauge with these labels."""
        return Gauge(name, text, labels, registry=self.registry)

    def histogram(
        self, name: str, text: str, buckets: tuple[float, ...], labels: tuple[str, ...] = MODEL
    ) -> Histogram:
        """A histogram per model and host unless told."""
        return Histogram(name, text, labels, buckets=buckets, registry=self.registry)

    def counter(self, name: str, text: str, labels: tuple[str, ...] = MODEL) -> Counter:
        """A counter with these labels (per model and host unless told)."""
        return Counter(name, text, labels, registry=self.registry)


class ModelLabels:
    """The `model` label values of each host: a model name comes from a client's request
    body, so each host keeps its first `MAX_MODELS_PER_HOST` names and counts any further one
    as `OTHER_MODEL`."""

    def __init__(self) -> None:
        self._models: dict[str, set[str]] = {}  # host -> model label values in use

    def label(self, host: str, model: str) -> str:
        """The model label: the name, or OTHER_MODEL past the host's first names."""
        names = self._models.setdefault(host, set())
        if model in names:
            return model
        if len(names) < MAX_MODELS_PER_HOST:
            names.add(model)
            return model
        return OTHER_MODEL
