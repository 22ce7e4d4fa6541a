"""Streamed content deltas are counted as tokens, however the stream is cut into chunks."""

from __future__ import annotations

import pytest

from ollamon_probe.delta_count import DeltaCounter

STREAM = (
    b'data: {"choices": [{"delta": {"role": "assistant"}}]}\n\n'
    b'data: {"choices": [{"delta": {"content": "Hi"}}]}\n\n'
    b'data: {"choices":[{"delta":{"content":"\\"content\\":\\"x"}}]}\n\n'
    b'data: {"choices":[{"delta":{"reasoning_content":"hm"}}]}\n\n'
    b'data: {"choices":[{"delta":{"tool_calls":[{"function":{"arguments":"{"}}]}}]}\n\n'
    b'data: {"choices":[{"delta":{"content":""},"finish_reason":"stop"}]}\n\n'
    b"data: [DONE]\n\n"
)


def test_every_text_delta_counts_once_and_empty_or_role_deltas_do_not() -> None:
    counter = DeltaCounter()
    counter.feed(STREAM, 1.0)
    assert counter.tokens == 4


@pytest.mark.parametrize("cut", range(1, len(STREAM)))
def test_a_delta_split_between_two_chunks_counts_once(cut: int) -> None:
    counter = DeltaCounter()
    counter.feed(STREAM[:cut], 1.0)
    counter.feed(STREAM[cut:], 2.0)
    assert counter.tokens == 4


def test_native_ollama_lines_count_their_response_and_content() -> None:
    counter = DeltaCounter()
    counter.feed(b'{"response":"a","done":false}\n{"message":{"content":"b"},"done":false}\n', 1.0)
    counter.feed(b'{"response":"","done":true,"eval_count":2}\n', 2.0)
    assert counter.tokens == 2


def test_gaps_run_between_chunks_that_hold_text() -> None:
    counter = DeltaCounter()
    counter.feed(b'data: {"choices":[{"text":"a"}]}\n\n', 1.0)
    counter.feed(b"data: [DONE]\n\n", 1.5)
    counter.feed(b'data: {"choices":[{"text":"b"}]}\n\n', 3.0)
    assert (counter.tokens, counter.gaps_seconds, counter.last_at) == (2, [2.0], 3.0)
