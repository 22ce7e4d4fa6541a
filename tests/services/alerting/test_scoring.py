"""The score formula at its edges."""

from __future__ import annotations

import pytest

from ollamon_alerting.scoring import WEIGHTS, ScoreThresholds, components, headroom, score
from tests.services.alerting.factories import window_stats as stats

THRESHOLDS = ScoreThresholds(
    error_rate_percent=10,
    response_time_ms=30000,
    time_to_first_token_p95_ms=10000,
    model_load_time_ms=60000,
)


def test_headroom_is_one_at_zero_half_at_the_threshold_and_zero_at_twice() -> None:
    assert headroom(0, 100) == 1.0
    assert headroom(100, 100) == 0.5
    assert headroom(200, 100) == 0.0
    assert headroom(500, 100) == 0.0


def test_a_flawless_model_scores_ten() -> None:
    assert score(components(stats(), THRESHOLDS, 50.0)) == 10.0


def test_a_model_whose_every_request_fails_scores_zero() -> None:
    parts = components(
        stats(
            failed_count=10,
            response_time_p95_ms=None,
            time_to_first_token_p95_ms=None,
            tokens_per_second_mean=None,
            load_duration_p95_ms=None,
        ),
        THRESHOLDS,
        50.0,
    )
    assert parts == {"success": 0.0}
    assert score(parts) == 0.0


def test_every_metric_exactly_at_its_threshold_scores_five() -> None:
    parts = components(
        stats(
            failed_count=1,
            response_time_p95_ms=30000,
            time_to_first_token_p95_ms=10000,
            load_duration_p95_ms=60000,
        ),
        THRESHOLDS,
        None,
    )
    assert parts == {"success": 0.5, "latency": 0.5, "ttft": 0.5, "load": 0.5}
    assert score(parts) == 5.0


def test_throughput_is_the_share_of_the_baseline_capped_at_one() -> None:
    assert components(stats(tokens_per_second_mean=25.0), THRESHOLDS, 50.0)["throughput"] == 0.5
    assert components(stats(tokens_per_second_mean=80.0), THRESHOLDS, 50.0)["throughput"] == 1.0
    assert "throughput" not in components(stats(), THRESHOLDS, None)


def test_cold_starts_halve_the_load_component_at_most() -> None:
    assert components(stats(cold_start_count=10), THRESHOLDS, None)["load"] == 0.5
    assert components(stats(cold_start_count=5), THRESHOLDS, None)["load"] == 0.75


def test_missing_components_neither_help_nor_hurt() -> None:
    assert score({"success": 1.0, "latency": 0.0}) == pytest.approx(
        10 * WEIGHTS["success"] / (WEIGHTS["success"] + WEIGHTS["latency"]), abs=0.01
    )
    assert score({}) == 0.0


def test_the_weights_sum_to_one() -> None:
    assert sum(WEIGHTS.values()) == pytest.approx(1.0)


def test_consistency_is_half_when_k_of_n_requests_are_outside_the_anomaly_band() -> None:
    assert components(stats(), THRESHOLDS, None, anomaly_share=0.0)["consistency"] == 1.0
    assert components(stats(), THRESHOLDS, None, anomaly_share=0.3)["consistency"] == 0.5
    assert components(stats(), THRESHOLDS, None, anomaly_share=0.8)["consistency"] == 0.0
    assert "consistency" not in components(stats(), THRESHOLDS, None)
