"""Counters whose value another process counts: exported as Prometheus counters.

A service's heartbeat carries cumulative counts since it started (drops of its spool, ...);
the gateway's stream counts its dropped frames. prometheus-client's `Counter` only
increments, so these are kept as reported and yielded as counter families at each scrape.
A count that goes down is a restart of whoever counts it: a counter reset, which `rate()`
and `increase()` handle.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from prometheus_client.metrics_core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector


class ReportedCounter(Collector):
    """One counter family (name without `_total`) with values set from a reported count."""

    def __init__(self, name: str, documentation: str, labelnames: Sequence[str] = ()) -> None:
        self.name = name
        self.documentation = documentation
        self.labelnames = tuple(labelnames)
        self._values: dict[tuple[str, ...], float] = {}

    def set(self, value: float, *labels: str) -> None:
        """The count as reported now for these label values."""
        self._values[labels] = value

    def collect(self) -> Iterable[Metric]:
        family = CounterMetricFamily(self.name, self.documentation, labels=self.labelnames)
        for labels, value in list(self._values.items()):  # set from the event loop
            family.add_metric(labels, value)
        yield family

    def describe(self) -> Iterable[Metric]:
        yield CounterMetricFamily(self.name, self.documentation, labels=self.labelnames)
