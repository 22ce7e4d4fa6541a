"""The performance score, 0-10, of a model on a host (pure code; formula in the README).

Each component is in 0..1:
- success    = 1 - error_rate / (2 x error threshold)          (threshold -> 0.5, 2x -> 0)
- latency    = 1 - p95 response time / (2 x response threshold)
- ttft       = 1 - p95 time to first token / (2 x TTFT threshold)   (streamed requests only)
- throughput = mean tokens/s / baseline tokens/s                 (once a baseline exists)
- load       = (1 - p95 load_duration / (2 x load threshold)) x (1 - cold fraction / 2)
- consistency = 1 - share of the last n judged requests outside the model's anomaly band /
               (2 x k/n)                                         (once a baseline judges)
each clamped to 0..1. The score is 10 x the weighted mean of the components that have data
(weights below), so a missing one neither helps nor hurts.
"""

from __future__ import annotations

from dataclasses import dataclass

from ollamon_alerting.windows import WindowStats

WEIGHTS: dict[str, float] = {
    "success": 0.30,
    "latency": 0.20,
    "ttft": 0.15,
    "throughput": 0.10,
    "load": 0.15,
    "consistency": 0.10,  # issue 19: 0.05 each from success and throughput (decision 0020)
}
MAX_SCORE = 10.0


@dataclass(frozen=True)
class ScoreThresholds:
    """The thresholds the score measures against (the alert thresholds)."""

    error_rate_percent: float
    response_time_ms: float
    time_to_first_token_p95_ms: float
    model_load_time_ms: float
    anomaly_breach_share: float = 0.3  # k/n of the performance_anomaly rule


def clamp_unit(value: float) -> float:
    """Clamp to 0..1."""
    return min(1.0, max(0.0, value))


def headroom(value: float, threshold: float) -> float:
    """1 at zero, 0.5 at the threshold, 0 at twice the threshold or beyond."""
    return clamp_unit(1.0 - value / (2.0 * threshold))


def components(
    stats: WindowStats,
    thresholds: ScoreThresholds,
    baseline_tokens_per_second: float | None,
    anomaly_share: float | None = None,
) -> dict[str, float]:
    """The score's components that have data (`anomaly_share`: of the last n judged requests,
    the share outside the model's anomaly band; None while its baseline learns)."""
    found = {"success": headroom(stats.error_rate_percent, thresholds.error_rate_percent)}
    if stats.response_time_p95_ms is not None:
        found["latency"] = headroom(stats.response_time_p95_ms, thresholds.response_time_ms)
    if stats.time_to_first_token_p95_ms is not None:
        found["ttft"] = headroom(
            stats.time_to_first_token_p95_ms, thresholds.time_to_first_token_p95_ms
        )
    if baseline_tokens_per_second and stats.tokens_per_second_mean is not None:
        found["throughput"] = clamp_unit(stats.tokens_per_second_mean / baseline_tokens_per_second)
    if stats.load_duration_p95_ms is not None:
        cold_fraction = stats.cold_start_count / stats.request_count
        found["load"] = headroom(stats.load_duration_p95_ms, thresholds.model_load_time_ms) * (
            1.0 - cold_fraction / 2.0
        )
    if anomaly_share is not None:
        found["consistency"] = headroom(anomaly_share, thresholds.anomaly_breach_share)
    return found


def score(parts: dict[str, float]) -> float:
    """10 x the weighted mean of the components given (0 when none)."""
    total_weight = sum(WEIGHTS[name] for name in parts)
    if total_weight == 0:
        return 0.0
    weighted = sum(WEIGHTS[name] * value for name, value in parts.items())
    return round(MAX_SCORE * weighted / total_weight, 2)
