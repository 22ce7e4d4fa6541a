"""A server's Prometheus text is read into its load: llama.cpp's and vLLM's names."""

from __future__ import annotations

import pytest

from ollamon_probe.backend_metrics import read_load, wanted_lines

LLAMA_CPP = """# HELP llamacpp:prompt_tokens_total Number of prompt tokens processed.
# TYPE llamacpp:prompt_tokens_total counter
llamacpp:prompt_tokens_total {prompt}
# TYPE llamacpp:tokens_predicted_total counter
llamacpp:tokens_predicted_total {generated}
# TYPE llamacpp:prompt_tokens_seconds gauge
llamacpp:prompt_tokens_seconds 512.5
# TYPE llamacpp:kv_cache_usage_ratio gauge
llamacpp:kv_cache_usage_ratio 0.125
# TYPE llamacpp:requests_processing gauge
llamacpp:requests_processing 1
# TYPE llamacpp:requests_deferred gauge
llamacpp:requests_deferred 4
"""


def llama_cpp(generated: int, prompt: int = 10) -> str:
    return LLAMA_CPP.format(generated=generated, prompt=prompt)


def test_llama_cpp_s_gauges_and_counters_are_read() -> None:
    reading = read_load(llama_cpp(200), at=5.0, previous=None)
    assert reading is not None
    load = reading.load
    assert (load.requests_processing, load.requests_waiting) == (1, 4)
    assert load.kv_cache_usage_percent == 12.5
    assert (load.tokens_generated_total, load.prompt_tokens_total) == (200, 10)
    assert (load.tokens_per_second, load.prompt_tokens_per_second) == (None, None)


def test_rates_are_the_counters_growth_since_the_previous_poll() -> None:
    first = read_load(llama_cpp(200, prompt=10), at=5.0, previous=None)
    second = read_load(llama_cpp(300, prompt=60), at=10.0, previous=first)
    assert second is not None
    assert (second.load.tokens_per_second, second.load.prompt_tokens_per_second) == (20.0, 10.0)


def test_a_counter_that_went_back_gives_no_rate() -> None:
    first = read_load(llama_cpp(200), at=5.0, previous=None)
    restarted = read_load(llama_cpp(3), at=10.0, previous=first)
    assert restarted is not None and restarted.load.tokens_per_second is None


def test_vllm_series_of_several_models_are_summed_and_the_fullest_cache_counts() -> None:
    text = (
        'vllm:num_requests_running{model_name="a"} 2.0\n'
        'vllm:num_requests_running{model_name="b"} 3.0\n'
        'vllm:gpu_cache_usage_perc{model_name="a"} 0.5\n'
        'vllm:gpu_cache_usage_perc{model_name="b"} 0.75\n'
    )
    reading = read_load(text, at=1.0, previous=None)
    assert reading is not None
    assert (reading.load.requests_processing, reading.load.kv_cache_usage_percent) == (5, 75)
    assert reading.load.requests_waiting is None


def test_an_exposition_without_any_metric_that_matters_is_no_load() -> None:
    assert read_load("process_cpu_seconds_total 12.0\n", at=1.0, previous=None) is None


def test_only_the_wanted_sample_lines_reach_the_parser() -> None:
    kept = wanted_lines(llama_cpp(1) + 'vllm:e2e_request_latency_seconds_bucket{le="1"} 3\n')
    assert kept.count("\n") == 5
    assert "#" not in kept and "prompt_tokens_seconds" not in kept


def test_a_malformed_sample_line_is_refused() -> None:
    with pytest.raises(ValueError, match=r".*"):
        read_load("llamacpp:requests_processing one\n", at=1.0, previous=None)
