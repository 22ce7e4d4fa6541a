"""Performance anomalies: each model's latency, TTFT and tokens/s against its own baseline.

One detector per metric and (host, model, digest) (`ollamon_core.insights.anomaly_detector`:
median/MAD by hour of day, k of the last n). Only real, measured traffic is judged and
learned: not failed or cancelled requests, not cold starts (latency and TTFT: the load is
`model_load`'s), not requests only Ollama's log saw, not benchmark requests. The rule's value
is the worst metric's k-th largest deviation (robust standard deviations); its evidence
says which metric, observed against expected and how many of the last n were outside.
Memory is bounded: at most `MAX_BASELINES` (host, model, digest)s, the least recently used
dropped, and `MAX_DIGESTS` kept per (host, model). Decision 0020.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel, Field

from ollamon_alerting.observations import Observation
from ollamon_alerting.rules import RuleName
from ollamon_alerting.settings import AlertingSettings
from ollamon_alerting.windows import RequestSample
from ollamon_core.events import AnomalyEvidence, OllamaModelMetrics, RequestSource
from ollamon_core.insights.anomaly import (
    BaselinePolicy,
    BaselineState,
    Direction,
    SeasonalBaseline,
)
from ollamon_core.insights.anomaly_detector import (
    DEFAULT_HORIZON_SECONDS,
    Finding,
    MetricDetector,
)

MAX_BASELINES = 256
MAX_DIGESTS = 4

ModelKey = tuple[str, str]  # host, model
DetectorKey = tuple[str, str, str]  # host, model, digest ("" where unknown)


@dataclass(frozen=True)
class Metric:
    """A judged metric: its name in the evidence, unit and worse direction."""

    name: str
    unit: str
    direction: Direction


LATENCY = Metric("latency_ms", "ms", Direction.HIGHER_IS_WORSE)
TTFT = Metric("time_to_first_token_ms", "ms", Direction.HIGHER_IS_WORSE)
TOKENS_PER_SECOND = Metric("tokens_per_second", "tokens/s", Direction.LOWER_IS_WORSE)
METRICS = {metric.name: metric for metric in (LATENCY, TTFT, TOKENS_PER_SECOND)}


@dataclass(frozen=True)
class AnomalyPolicy:
    """The baseline's sizes, k of n, and how long a judgement counts."""

    baseline: BaselinePolicy
    breaches: int = 3
    requests: int = 10
    horizon_seconds: float = DEFAULT_HORIZON_SECONDS


def policy_from_settings(settings: AlertingSettings) -> AnomalyPolicy:
    """The anomaly policy of the settings (k of n: the per-request rules')."""
    baseline = BaselinePolicy(
        min_samples=settings.anomaly_min_samples,
        learn_spacing_seconds=settings.anomaly_learn_interval_seconds,
        spread_floor=math.log1p(settings.anomaly_spread_floor_percent / 100.0),
    )
    return AnomalyPolicy(baseline, settings.request_rule_breaches, settings.request_rule_requests)


def judged(event: OllamaModelMetrics, sample: RequestSample) -> bool:
    """True for a request of real traffic that the proxy measured and that succeeded."""
    return (
        sample.measured
        and event.source is RequestSource.PROXY
        and event.benchmark_run_id is None
        and not event.model_unknown
    )


def metric_values(sample: RequestSample) -> dict[str, float]:
    """The metrics a request gives (cold starts give no latency or TTFT)."""
    values: dict[str, float] = {}
    if not sample.cold_start:
        values[LATENCY.name] = sample.response_time_ms
        if sample.time_to_first_token_ms is not None:
            values[TTFT.name] = sample.time_to_first_token_ms
    if sample.tokens_per_second is not None:
        values[TOKENS_PER_SECOND.name] = sample.tokens_per_second
    return values


class DigestState(BaseModel):
    """One digest's baselines, by metric."""

    metrics: dict[str, BaselineState] = Field(default_factory=dict)


class AnomalySnapshot(BaseModel):
    """A (host, model)'s baselines by digest, as kept in the state bucket."""

    host: str
    model_name: str
    digests: dict[str, DigestState] = Field(default_factory=dict)


class AnomalyBook:
    """Every (host, model, digest)'s detectors, and which (host, model)s to write."""

    def __init__(self, policy: AnomalyPolicy) -> None:
        self.policy = policy
        self.detectors: OrderedDict[DetectorKey, dict[str, MetricDetector]] = OrderedDict()
        self._changed: set[ModelKey] = set()

    def observe(self, event: OllamaModelMetrics, sample: RequestSample, digest: str) -> None:
        """Judge a request of real traffic against its baselines, then learn from it."""
        if not judged(event, sample):
            return
        detectors = self._detectors((event.host, event.model_name, digest))
        for name, value in metric_values(sample).items():
            _, learned = detectors[name].observe(sample.at, value)
            if learned:
                self._changed.add((event.host, event.model_name))

    def observation(
        self, host: str, model_name: str, digest: str, now: datetime, threshold: float
    ) -> Observation:
        """The rule's observation: the worst metric's k-th largest deviation, with evidence
        when it is over the threshold; no value while nothing was judged within the horizon."""
        worst = self._worst(host, model_name, digest, now, threshold)
        if worst is None:
            return Observation(RuleName.PERFORMANCE_ANOMALY, host, model_name, None)
        metric, finding = worst
        if finding.value <= threshold:  # the lifecycle reads the evidence of a breach only
            return Observation(RuleName.PERFORMANCE_ANOMALY, host, model_name, finding.value)
        evidence = _evidence(metric, finding, threshold)
        return Observation(
            RuleName.PERFORMANCE_ANOMALY,
            host,
            model_name,
            finding.value,
            _detail(evidence),
            evidence=evidence,
        )

    def outside_share(
        self, host: str, model_name: str, digest: str, now: datetime, threshold: float
    ) -> float | None:
        """Share of the last n judged requests outside the band (worst metric); None when
        none was judged (the score leaves the component out)."""
        worst = self._worst(host, model_name, digest, now, threshold)
        if worst is None:
            return None
        finding = worst[1]
        return finding.over / finding.judged

    def take_changes(self) -> list[ModelKey]:
        """The (host, model)s whose baselines learned since the last call (to persist)."""
        changed = sorted(self._changed)
        self._changed.clear()
        return changed

    def snapshot(self, host: str, model_name: str) -> AnomalySnapshot:
        """A (host, model)'s baselines as kept (empty once all were dropped)."""
        digests = {
            digest: DigestState(
                metrics={name: detector.state() for name, detector in detectors.items()}
            )
            for (h, m, digest), detectors in self.detectors.items()
            if (h, m) == (host, model_name)
        }
        return AnomalySnapshot(host=host, model_name=model_name, digests=digests)

    def restore(self, snapshot: AnomalySnapshot) -> None:
        """Take up kept baselines (at most `MAX_DIGESTS` per model; unknown metrics dropped)."""
        for digest, kept in list(snapshot.digests.items())[-MAX_DIGESTS:]:
            detectors = self._detectors((snapshot.host, snapshot.model_name, digest))
            for name, state in kept.metrics.items():
                if name in METRICS:
                    baseline = SeasonalBaseline.from_state(state, self.policy.baseline)
                    detectors[name] = self._detector(METRICS[name], baseline)

    # Internals -------------------------------------------------------------------------

    def _worst(
        self, host: str, model_name: str, digest: str, now: datetime, threshold: float
    ) -> tuple[Metric, Finding] | None:
        detectors = self.detectors.get((host, model_name, digest))
        if detectors is None:
            return None
        worst: tuple[Metric, Finding] | None = None
        for name, detector in detectors.items():
            finding = detector.finding(
                now, self.policy.breaches, threshold, self.policy.horizon_seconds
            )
            if finding is not None and (worst is None or finding.value > worst[1].value):
                worst = (METRICS[name], finding)
        return worst

    def _detector(self, metric: Metric, baseline: SeasonalBaseline | None = None) -> MetricDetector:
        return MetricDetector(
            self.policy.baseline, metric.direction, self.policy.requests, baseline
        )

    def _detectors(self, key: DetectorKey) -> dict[str, MetricDetector]:
        detectors = self.detectors.get(key)
        if detectors is not None:
            self.detectors.move_to_end(key)
            return detectors
        detectors = {name: self._detector(metric) for name, metric in METRICS.items()}
        self.detectors[key] = detectors
        same_model = [k for k in self.detectors if k[:2] == key[:2]]
        for dropped in same_model[:-MAX_DIGESTS]:
            del self.detectors[dropped]
        while len(self.detectors) > MAX_BASELINES:
            (host, model_name, _), _ = self.detectors.popitem(last=False)
            self._changed.add((host, model_name))  # written without it, or purged
        return detectors


def _evidence(metric: Metric, finding: Finding, threshold: float) -> AnomalyEvidence:
    band = finding.band
    low, high = band.limits(threshold)
    return AnomalyEvidence(
        metric=metric.name,
        unit=metric.unit,
        observed=round(finding.observed, 3),
        expected=round(band.expected, 3),
        band_low=round(low, 3),
        band_high=round(high, 3),
        deviations=round(finding.value, 2),
        outside=finding.over,
        judged=finding.judged,
        baseline="overall" if band.hour is None else f"hour {band.hour:02d} UTC",
        baseline_samples=band.samples,
    )


def _detail(evidence: AnomalyEvidence) -> str:
    """'latency_ms 1610 ms, expected 805 ms (539-1203), 6 of the last 10 requests outside
    (baseline: hour 14 UTC, 32 requests)'."""
    unit = evidence.unit
    return (
        f"{evidence.metric} {_number(evidence.observed)} {unit}, expected "
        f"{_number(evidence.expected)} {unit} ({_number(evidence.band_low)}-"
        f"{_number(evidence.band_high)}), {evidence.outside} of the last {evidence.judged} "
        f"requests outside (baseline: {evidence.baseline}, {evidence.baseline_samples} requests)"
    )


def _number(value: float) -> str:
    return f"{value:.0f}" if abs(value) >= 100 else f"{value:.1f}"
