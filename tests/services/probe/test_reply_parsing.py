"""Ollama replies are read into facts: native statistics, OpenAI usage, errors."""

from __future__ import annotations

import json

from ollamon_core.events import TokenSource
from ollamon_probe.reply_parsing import (
    ReplyFacts,
    load_object,
    ns_to_ms,
    parse_reply,
    rate_per_second,
)

FINAL = {
    "model": "llama3.2:1b",
    "done": True,
    "done_reason": "stop",
    "total_duration": 5_000_000_000,
    "load_duration": 1_000_000_000,
    "prompt_eval_count": 26,
    "prompt_eval_duration": 130_000_000,
    "eval_count": 259,
    "eval_duration": 3_500_000_000,
}


def test_a_native_final_chunk_gives_every_statistic() -> None:
    facts = parse_reply([json.dumps(FINAL).encode()], truncated=False, openai=False, sse=False)
    assert facts == ReplyFacts(
        total_duration_ns=5_000_000_000,
        load_duration_ns=1_000_000_000,
        prompt_eval_count=26,
        prompt_eval_duration_ns=130_000_000,
        eval_count=259,
        eval_duration_ns=3_500_000_000,
        done_reason="stop",
        token_source=TokenSource.FINAL_CHUNK,
    )


def test_nanoseconds_become_milliseconds_and_rates_per_second() -> None:
    assert ns_to_ms(3_500_000_000) == 3500.0
    assert ns_to_ms(None) == 0.0
    assert rate_per_second(259, 3_500_000_000) == 74.0
    assert rate_per_second(0, 10) is None
    assert rate_per_second(5, None) is None


def test_an_error_line_is_an_error() -> None:
    facts = parse_reply([b'{"response":"a"}', b'{"error":"boom"}'], False, False, False)
    assert facts.error_message == "boom"


def test_openai_errors_and_usage_are_read() -> None:
    error = b'{"error":{"message":"model not found","type":"not_found_error"}}'
    usage = (
        b'{"choices":[{"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":9}}'
    )
    assert parse_reply([error], False, True, False).error_message == "model not found"
    facts = parse_reply([usage], False, True, False)
    assert (facts.prompt_eval_count, facts.eval_count, facts.done_reason) == (3, 9, "stop")
    assert facts.token_source == TokenSource.USAGE


def test_an_sse_stream_reads_usage_before_done() -> None:
    lines = [
        b'data: {"choices":[],"usage":{"prompt_tokens":4,"completion_tokens":7}}',
        b"data: [DONE]",
    ]
    facts = parse_reply(lines, False, True, True)
    assert (facts.prompt_eval_count, facts.eval_count) == (4, 7)


def test_an_sse_stream_without_usage_keeps_the_finish_reason() -> None:
    lines = [b'data: {"choices":[{"delta":{},"finish_reason":"length"}]}', b"data: [DONE]"]
    facts = parse_reply(lines, False, True, True)
    assert (facts.eval_count, facts.done_reason) == (None, "length")


def test_an_sse_error_event_is_an_error() -> None:
    lines = [b'data: {"choices":[]}', b'data: {"error":{"message":"exit status 2"}}']
    assert parse_reply(lines, False, True, True).error_message == "exit status 2"


def test_a_truncated_reply_is_scanned_for_its_statistics() -> None:
    big = b'{"embeddings":[[' + b"0.1," * 10 + b'0.1]],"total_duration":42,"prompt_eval_count":3}'
    body = load_object(big, truncated=True)
    assert body == {"total_duration": 42, "prompt_eval_count": 3}


def test_text_that_is_not_json_is_kept_as_unparsed() -> None:
    facts = parse_reply([b"404 page not found"], False, False, False)
    assert facts.unparsed_text == "404 page not found"
    assert facts.error_message is None


def test_llama_cpp_timings_in_the_final_chunk_give_counts_and_durations() -> None:
    final = {
        "choices": [{"delta": {}, "finish_reason": "stop"}],
        "timings": {"prompt_n": 6, "prompt_ms": 12.5, "predicted_n": 20, "predicted_ms": 400.0},
    }
    lines = [
        b'data: {"choices":[{"delta":{"content":"x"}}]}',
        b"data: " + json.dumps(final).encode(),
    ]
    facts = parse_reply([*lines, b"data: [DONE]"], False, True, True)
    assert (facts.prompt_eval_count, facts.eval_count) == (6, 20)
    assert (facts.prompt_eval_duration_ns, facts.eval_duration_ns) == (12_500_000, 400_000_000)
    assert facts.token_source == TokenSource.FINAL_CHUNK


def test_usage_wins_over_llama_cpp_timings() -> None:
    body = {
        "choices": [{"finish_reason": "stop"}],
        "usage": {"prompt_tokens": 6, "completion_tokens": 21},
        "timings": {"prompt_n": 6, "predicted_n": 20, "predicted_ms": 400.0},
    }
    facts = parse_reply([json.dumps(body).encode()], False, True, False)
    assert (facts.eval_count, facts.token_source) == (21, TokenSource.USAGE)
    assert facts.eval_duration_ns == 400_000_000


def test_a_stream_without_usage_or_timings_has_no_token_source() -> None:
    lines = [b'data: {"choices":[{"delta":{},"finish_reason":"stop"}]}', b"data: [DONE]"]
    assert parse_reply(lines, False, True, True).token_source is None
