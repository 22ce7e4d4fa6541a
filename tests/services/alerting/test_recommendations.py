"""Recommendations name the Ollama setting to change."""

from __future__ import annotations

from ollamon_alerting import recommendations
from ollamon_alerting.rules import RULE_SPECS, RuleName
from tests.services.alerting.factories import window_stats as stats


def test_repeated_cold_loads_recommend_keep_alive() -> None:
    found = recommendations.for_model(stats(cold_start_count=3), 0.0, False)
    assert [r.setting for r in found] == ["OLLAMA_KEEP_ALIVE / keep_alive"]
    assert recommendations.for_model(stats(cold_start_count=2), 0.0, False) == []


def test_refused_requests_recommend_num_parallel_and_max_queue() -> None:
    found = recommendations.for_model(stats(overloaded_count=1), 0.0, False)
    assert found == [recommendations.PARALLEL]
    assert "OLLAMA_NUM_PARALLEL" in found[0].setting
    assert "OLLAMA_MAX_QUEUE" in found[0].setting


def test_queue_wait_of_a_resident_model_recommends_num_parallel_not_keep_alive() -> None:
    waited = stats(cold_start_count=0, load_duration_p95_ms=4000.0)
    assert recommendations.for_model(waited, 0.0, False) == [recommendations.PARALLEL]
    assert recommendations.for_alert(RuleName.MODEL_LOAD, waited) == recommendations.PARALLEL
    loaded = stats(cold_start_count=1, load_duration_p95_ms=4000.0)
    assert recommendations.for_alert(RuleName.MODEL_LOAD, loaded) == recommendations.KEEP_ALIVE
    assert recommendations.for_model(stats(load_duration_p95_ms=3.0), 0.0, False) == []


def test_full_context_recommends_num_ctx() -> None:
    assert recommendations.for_model(stats(context_full_count=2), 0.0, False) == [
        recommendations.NUM_CTX
    ]


def test_partial_offload_and_memory_pressure_recommend_quantisation_or_fewer_models() -> None:
    offload = recommendations.for_model(stats(), 40.0, False)
    assert offload == [recommendations.OFFLOAD]
    assert "OLLAMA_MAX_LOADED_MODELS" in offload[0].action
    assert "quantisation" in offload[0].action
    assert recommendations.for_model(stats(), 0.0, True) == [recommendations.MEMORY]


def test_every_rule_has_a_recommendation_naming_a_setting() -> None:
    for rule in RULE_SPECS:
        recommendation = recommendations.for_alert(rule, None)
        assert recommendation.setting
        assert recommendation.setting.split(" ")[0] in recommendations.describe(recommendation)


def test_alert_recommendations_follow_what_the_window_shows() -> None:
    assert recommendations.for_alert(RuleName.SLOW_RESPONSE, stats(cold_start_count=1)) == (
        recommendations.KEEP_ALIVE
    )
    assert recommendations.for_alert(RuleName.LOW_SUCCESS_RATE, stats(overloaded_count=4)) == (
        recommendations.PARALLEL
    )
    assert recommendations.for_alert(RuleName.LOW_SUCCESS_RATE, stats()) == recommendations.DEBUG
    assert recommendations.for_alert(RuleName.CONTEXT_OVERFLOW, None) == recommendations.NUM_CTX
    assert recommendations.for_alert(RuleName.MODEL_LOAD, None) == recommendations.KEEP_ALIVE
