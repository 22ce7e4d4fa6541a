"""An exchange becomes one OllamaModelMetrics event (pure: no proxy, no bus)."""

from __future__ import annotations

import json
from collections.abc import Mapping

from ollamon_core.events import UNKNOWN_MODEL, LoadedModel, TokenSource
from ollamon_probe.exchange import Exchange
from ollamon_probe.request_event import Origin, build_event
from ollamon_probe.residency import ResidencyBook

ORIGIN = Origin("http://ollama:11434", "gpu-1")
FINAL = {
    "model": "qwen2.5:7b",
    "done": True,
    "done_reason": "length",
    "total_duration": 2_000_000_000,
    "load_duration": 500_000_000,
    "prompt_eval_count": 1000,
    "prompt_eval_duration": 250_000_000,
    "eval_count": 24,
    "eval_duration": 1_200_000_000,
}


def streamed_exchange(
    body: Mapping[str, object], lines: list[bytes], times: list[float]
) -> Exchange:
    exchange = Exchange(started_at=10.0, endpoint="/api/chat")
    exchange.body.feed(json.dumps(body).encode())
    exchange.response_started(200, "application/x-ndjson")
    for line, moment in zip(lines, times, strict=True):
        exchange.chunk(line, moment)
    exchange.finished_at = times[-1] + 0.001
    return exchange


def book_with(name: str, context: int) -> ResidencyBook:
    book = ResidencyBook()
    book.replace(
        ORIGIN.ollama_url,
        [
            LoadedModel(
                name=name,
                size_bytes=6_000_000_000,
                size_vram_bytes=6_000_000_000,
                context_length=context,
            )
        ],
    )
    return book


def test_a_streamed_chat_gives_every_field() -> None:
    body = {
        "model": "qwen2.5:7b",
        "messages": [],
        "options": {"temperature": 0.3, "top_p": 0.8, "num_ctx": 2048},
    }
    lines = [b'{"message":{"content":"a"},"done":false}\n'] * 3 + [
        json.dumps(FINAL).encode() + b"\n"
    ]
    exchange = streamed_exchange(body, lines, [10.5, 10.6, 10.8, 10.9])
    event = build_event(exchange, ORIGIN, ResidencyBook().view(ORIGIN.ollama_url))
    assert (event.host, event.ollama_url, event.endpoint) == (
        "gpu-1",
        "http://ollama:11434",
        "/api/chat",
    )
    assert (event.model_name, event.status_code, event.streamed) == ("qwen2.5:7b", 200, True)
    assert event.response_time_ms == 901.0
    assert event.time_to_first_token_ms == 500.0
    assert event.chunk_count == 4
    assert event.inter_chunk_gap_max_ms == 200.0
    assert event.inter_chunk_gap_mean_ms == 133.333
    assert (event.tokens_input, event.tokens_generated) == (1000, 24)
    assert (event.load_duration_ms, event.prompt_eval_duration_ms) == (500.0, 250.0)
    assert (event.eval_duration_ms, event.total_duration_ms) == (1200.0, 2000.0)
    assert event.tokens_per_second == 20.0
    assert event.prompt_tokens_per_second == 4000.0
    assert event.done_reason == "length"
    assert (event.temperature, event.top_p, event.num_ctx) == (0.3, 0.8, 2048)
    assert event.context_length == 2048
    assert event.context_utilization_percent == round(1024 / 2048 * 100, 3)
    assert event.cold_start is None  # the watcher had not polled yet
    assert not event.error_occurred


def test_the_loaded_context_applies_when_the_request_sets_none() -> None:
    exchange = streamed_exchange({"model": "qwen2.5:7b"}, [json.dumps(FINAL).encode()], [10.1])
    event = build_event(exchange, ORIGIN, book_with("qwen2.5:7b", 4096).view(ORIGIN.ollama_url))
    assert (event.context_length, event.num_ctx) == (4096, None)
    assert event.context_utilization_percent == 25.0
    assert event.cold_start is False
    assert event.model_size_gb == 6.0


def test_a_model_missing_from_the_last_ps_is_a_cold_start() -> None:
    exchange = streamed_exchange({"model": "llama3.2"}, [json.dumps(FINAL).encode()], [10.1])
    assert build_event(
        exchange, ORIGIN, book_with("qwen2.5:7b", 4096).view(ORIGIN.ollama_url)
    ).cold_start


def test_an_error_line_under_200_is_a_failed_request() -> None:
    lines = [b'{"response":"a","done":false}\n', b'{"error":"runner crashed"}\n']
    event = build_event(streamed_exchange({"model": "m"}, lines, [10.1, 10.2]), ORIGIN, None)
    assert (event.status_code, event.error_occurred, event.error_message) == (
        200,
        True,
        "runner crashed",
    )
    assert event.context_utilization_percent is None


def test_a_cancelled_exchange_is_499_and_not_an_error() -> None:
    exchange = streamed_exchange({"model": "m"}, [b'{"response":"a"}\n'], [10.1])
    exchange.cancelled = True
    event = build_event(exchange, ORIGIN, None)
    assert (event.status_code, event.cancelled, event.error_occurred) == (499, True, False)


def test_an_openai_stream_takes_tokens_from_usage_and_rate_from_the_clock() -> None:
    exchange = Exchange(started_at=0.0, endpoint="/v1/chat/completions")
    exchange.body.feed(b'{"model":"m","temperature":0.1,"stream":true}')
    exchange.response_started(200, "text/event-stream")
    exchange.chunk(b'data: {"choices":[{"delta":{"content":"a"}}]}\n\n', 1.0)
    exchange.chunk(
        b'data: {"choices":[],"usage":{"prompt_tokens":5,"completion_tokens":10}}\n\n', 2.0
    )
    exchange.chunk(b"data: [DONE]\n\n", 2.0)
    exchange.finished_at = 3.0
    event = build_event(exchange, ORIGIN, None)
    assert (event.tokens_input, event.tokens_generated, event.temperature) == (5, 10, 0.1)
    assert event.tokens_per_second == 5.0
    assert event.eval_duration_ms == 0.0
    assert event.token_source == TokenSource.USAGE


def llama_cpp_python_stream(times: list[float]) -> Exchange:
    """A stream as llama-cpp-python writes it: a role chunk, one chunk per token, a finish
    chunk, `[DONE]`, and no usage (json.dumps spacing)."""
    exchange = Exchange(started_at=0.0, endpoint="/v1/chat/completions")
    exchange.body.feed(b'{"model":"tiny","stream":true}')
    exchange.response_started(200, "text/event-stream; charset=utf-8")
    exchange.chunk(b'data: {"choices": [{"delta": {"role": "assistant"}}]}\r\n\r\n', times[0])
    for moment in times[1:-1]:
        exchange.chunk(b'data: {"choices": [{"delta": {"content": " w"}}]}\r\n\r\n', moment)
    exchange.chunk(
        b'data: {"choices": [{"delta": {}, "finish_reason": "length"}]}\r\n\r\n'
        b"data: [DONE]\r\n\r\n",
        times[-1],
    )
    exchange.finished_at = times[-1]
    return exchange


def test_a_stream_without_usage_counts_its_content_deltas() -> None:
    event = build_event(llama_cpp_python_stream([0.5, 1.0, 1.25, 1.5, 2.0, 2.5]), ORIGIN, None)
    assert (event.tokens_generated, event.token_source) == (4, TokenSource.COUNTED)
    assert event.tokens_per_second == 2.0  # 4 tokens from the first chunk (0.5 s) to 2.5 s
    assert event.done_reason == "length"
    assert (event.inter_token_gap_mean_ms, event.inter_token_gap_max_ms) == (333.333, 500.0)
    assert event.chunk_count == 6


def test_deltas_arriving_in_one_chunk_share_the_gap_since_the_previous_token() -> None:
    exchange = Exchange(started_at=0.0, endpoint="/v1/completions")
    exchange.body.feed(b'{"model":"tiny","stream":true}')
    exchange.response_started(200, "text/event-stream")
    exchange.chunk(b'data: {"choices":[{"text":"a"}]}\n\n', 1.0)
    exchange.chunk(b'data: {"choices":[{"text":"b"}]}\n\ndata: {"choices":[{"text":"c"}]}\n\n', 2.0)
    exchange.finished_at = 2.0
    event = build_event(exchange, ORIGIN, None)
    assert (event.tokens_generated, event.token_source) == (3, TokenSource.COUNTED)
    assert (event.inter_token_gap_mean_ms, event.inter_token_gap_max_ms) == (500.0, 500.0)
    assert event.inter_chunk_gap_mean_ms == 1000.0


def test_usage_in_the_stream_wins_over_the_count() -> None:
    exchange = llama_cpp_python_stream([0.5, 1.0, 1.5])
    exchange.chunk(
        b'data: {"choices":[],"usage":{"prompt_tokens":2,"completion_tokens":9}}\n\n', 1.6
    )
    event = build_event(exchange, ORIGIN, None)
    assert (event.tokens_generated, event.token_source) == (9, TokenSource.USAGE)


def test_a_native_stream_takes_ollama_s_count_and_times_its_tokens() -> None:
    lines = [b'{"message":{"content":"a"},"done":false}\n'] * 3 + [
        json.dumps(FINAL).encode() + b"\n"
    ]
    event = build_event(
        streamed_exchange({"model": "m"}, lines, [10.5, 10.6, 10.8, 10.9]), ORIGIN, None
    )
    assert (event.tokens_generated, event.token_source) == (24, TokenSource.FINAL_CHUNK)
    assert event.tokens_per_second == 20.0
    assert (event.inter_token_gap_mean_ms, event.inter_token_gap_max_ms) == (150.0, 200.0)


def test_a_reply_with_no_generated_tokens_has_no_token_source() -> None:
    exchange = Exchange(started_at=0.0, endpoint="/v1/embeddings")
    exchange.body.feed(b'{"model":"e","input":"x"}')
    exchange.response_started(200, "application/json")
    exchange.chunk(b'{"data":[],"usage":{"prompt_tokens":1,"total_tokens":1}}', 0.1)
    exchange.finished_at = 0.1
    event = build_event(exchange, ORIGIN, None)
    assert (event.tokens_generated, event.token_source, event.tokens_per_second) == (0, None, None)


def test_a_body_naming_no_model_is_recorded_as_unknown_not_blank() -> None:
    exchange = Exchange(started_at=10.0, endpoint="/api/generate")
    exchange.body.feed(b'{"prompt": "the body stopped here')
    exchange.cancelled = True
    event = build_event(exchange, ORIGIN, None)
    assert (event.model_name, event.model_unknown) == (UNKNOWN_MODEL, True)
    assert event.cold_start is None


def test_a_named_model_is_not_unknown() -> None:
    event = build_event(streamed_exchange({"model": "m"}, [b"{}\n"], [10.1]), ORIGIN, None)
    assert (event.model_name, event.model_unknown) == ("m", False)
