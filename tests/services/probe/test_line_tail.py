"""LineTail keeps the last lines of a body however it is chunked."""

from __future__ import annotations

from ollamon_probe.line_tail import LineTail

NDJSON = b'{"a":1}\n{"a":2}\n{"a":3,"done":true}\n'


def feed_in_pieces(data: bytes, size: int) -> LineTail:
    tail = LineTail()
    for start in range(0, len(data), size):
        tail.feed(data[start : start + size])
    return tail


def test_the_last_lines_survive_any_chunking() -> None:
    for size in (1, 2, 3, 7, 100):
        assert feed_in_pieces(NDJSON, size).final_lines() == [
            b'{"a":1}',
            b'{"a":2}',
            b'{"a":3,"done":true}',
        ]
        assert feed_in_pieces(b'{"a":0}\n' * 20 + NDJSON, size).final_lines()[-1] == (
            b'{"a":3,"done":true}'
        )


def test_a_body_without_a_final_newline_counts_its_last_line() -> None:
    tail = feed_in_pieces(b'{"a":1}\n{"error":"boom"}', 4)
    assert tail.final_lines() == [b'{"a":1}', b'{"error":"boom"}']


def test_sse_blank_separators_are_skipped() -> None:
    body = b'data: {"x":0}\n\ndata: {"x":1}\n\ndata: {"usage":{}}\n\ndata: [DONE]\n\n'
    for size in (1, 5, 1000):
        assert feed_in_pieces(body, size).final_lines() == [
            b'data: {"x":1}',
            b'data: {"usage":{}}',
            b"data: [DONE]",
        ]


def test_a_huge_single_line_keeps_only_its_tail_and_says_so() -> None:
    tail = LineTail()
    for _ in range(80):
        tail.feed(b"x" * 65536)
    tail.feed(b'"eval_count":5}')
    lines = tail.final_lines()
    assert tail.truncated
    assert lines[-1].endswith(b'"eval_count":5}')
    assert len(lines[-1]) <= 5 * 1024 * 1024
