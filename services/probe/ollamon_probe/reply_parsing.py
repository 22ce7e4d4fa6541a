"""What Ollama's reply says about a request: timings, token counts, errors (pure, no I/O).

Native replies end with a `done: true` object carrying integer-nanosecond durations; OpenAI
replies carry only `usage` token counts (and only when streaming with `include_usage`), except
llama.cpp's server, which adds its own `timings` (token counts and milliseconds).
"""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass
from typing import Any

from ollamon_core.events import TokenSource

MAX_JSON_PARSE_BYTES = 256 * 1024
_NUMBER_FIELDS = (
    "total_duration",
    "load_duration",
    "prompt_eval_count",
    "prompt_eval_duration",
    "eval_count",
    "eval_duration",
    "prompt_tokens",
    "completion_tokens",
)
_NUMBER_PATTERN = re.compile(rb'"(' + "|".join(_NUMBER_FIELDS).encode() + rb')"\s*:\s*(\d+)')
_DONE_REASON_PATTERN = re.compile(rb'"done_reason"\s*:\s*"([^"]{0,64})"')
_SSE_DONE = b"[DONE]"


@dataclass(frozen=True)
class ReplyFacts:
    """Facts read from a reply; None where the reply did not say."""

    total_duration_ns: int | None = None
    load_duration_ns: int | None = None
    prompt_eval_count: int | None = None
    prompt_eval_duration_ns: int | None = None
    eval_count: int | None = None
    eval_duration_ns: int | None = None
    done_reason: str | None = None
    error_message: str | None = None
    unparsed_text: str | None = None
    token_source: TokenSource | None = None


def load_object(line: bytes, truncated: bool = False) -> dict[str, Any] | None:
    """A JSON object from one line; a scan of its known number fields if it is too big."""
    if truncated or len(line) > MAX_JSON_PARSE_BYTES:
        return _scan_numbers(line[-16384:])
    try:
        value = json.loads(line)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _scan_numbers(tail: bytes) -> dict[str, Any]:
    # Ollama writes its statistics after the (large) content, so the tail holds them.
    found: dict[str, Any] = {
        key.decode(): int(value) for key, value in _NUMBER_PATTERN.findall(tail)
    }
    reason = _DONE_REASON_PATTERN.search(tail)
    if reason:
        found["done_reason"] = reason.group(1).decode()
    if "prompt_tokens" in found:
        found["usage"] = {
            "prompt_tokens": found.pop("prompt_tokens"),
            "completion_tokens": found.pop("completion_tokens", 0),
        }
    return found


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def error_of(body: dict[str, Any]) -> str | None:
    """The error message of a native (`{"error": "..."}`) or OpenAI error object."""
    error = body.get("error")
    if isinstance(error, str):
        return error
    if isinstance(error, dict):
        return str(error.get("message") or error)
    return None


def native_facts(body: dict[str, Any]) -> ReplyFacts:
    """Facts from a native final object (`/api/generate`, `/api/chat`, `/api/embed`)."""
    reason = body.get("done_reason")
    eval_count = _int(body.get("eval_count"))
    return ReplyFacts(
        total_duration_ns=_int(body.get("total_duration")),
        load_duration_ns=_int(body.get("load_duration")),
        prompt_eval_count=_int(body.get("prompt_eval_count")),
        prompt_eval_duration_ns=_int(body.get("prompt_eval_duration")),
        eval_count=eval_count,
        eval_duration_ns=_int(body.get("eval_duration")),
        done_reason=reason if isinstance(reason, str) else None,
        error_message=error_of(body),
        token_source=None if eval_count is None else TokenSource.FINAL_CHUNK,
    )


def _ms_to_ns(value: object) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        return None
    return round(value * 1e6)


def openai_facts(body: dict[str, Any]) -> ReplyFacts:
    """Facts from an OpenAI-style reply or usage chunk: `usage` first, else llama.cpp's
    `timings` (`prompt_n`, `prompt_ms`, `predicted_n`, `predicted_ms`)."""
    usage = body.get("usage")
    usage = usage if isinstance(usage, dict) else {}
    timings = body.get("timings")
    timings = timings if isinstance(timings, dict) else {}
    reason = None
    choices = body.get("choices")
    if isinstance(choices, list) and choices and isinstance(choices[0], dict):
        finish = choices[0].get("finish_reason")
        reason = finish if isinstance(finish, str) else None
    prompt, generated = _int(usage.get("prompt_tokens")), _int(usage.get("completion_tokens"))
    source = None if generated is None else TokenSource.USAGE
    if generated is None and _int(timings.get("predicted_n")) is not None:
        generated, source = _int(timings.get("predicted_n")), TokenSource.FINAL_CHUNK
    if prompt is None:
        prompt = _int(timings.get("prompt_n"))
    return ReplyFacts(
        prompt_eval_count=prompt,
        prompt_eval_duration_ns=_ms_to_ns(timings.get("prompt_ms")),
        eval_count=generated,
        eval_duration_ns=_ms_to_ns(timings.get("predicted_ms")),
        done_reason=reason,
        error_message=error_of(body),
        token_source=source,
    )


def sse_objects(lines: list[bytes]) -> list[dict[str, Any]]:
    """The JSON payloads of the last `data:` lines, `[DONE]` left out."""
    objects: list[dict[str, Any]] = []
    for line in lines:
        if not line.startswith(b"data:"):
            continue
        payload = line[5:].strip()
        if payload == _SSE_DONE:
            continue
        value = load_object(payload)
        if value is not None:
            objects.append(value)
    return objects


def merge_openai_stream(objects: list[dict[str, Any]]) -> ReplyFacts:
    """Facts of a streamed OpenAI reply: an error, else usage and the last finish reason."""
    facts = [openai_facts(value) for value in objects]
    for fact in facts:
        if fact.error_message is not None:
            return fact
    usage = next((fact for fact in reversed(facts) if fact.eval_count is not None), ReplyFacts())
    reason = next((fact.done_reason for fact in reversed(facts) if fact.done_reason), None)
    return dataclasses.replace(usage, done_reason=reason)


def parse_reply(lines: list[bytes], truncated: bool, openai: bool, sse: bool) -> ReplyFacts:
    """Facts from the last lines of any reply (`lines` oldest first)."""
    if not lines:
        return ReplyFacts()
    if sse:
        return merge_openai_stream(sse_objects(lines))
    body = load_object(lines[-1], truncated)
    if body is None:
        text = lines[-1][:500].decode("utf-8", "replace")
        return ReplyFacts(unparsed_text=text or None)
    return openai_facts(body) if openai else native_facts(body)


def ns_to_ms(value: int | None) -> float:
    """Nanoseconds to milliseconds (0 when unknown)."""
    return 0.0 if value is None else value / 1e6


def rate_per_second(count: int | None, duration_ns: int | None) -> float | None:
    """`count` per second over `duration_ns`, None when either is missing or zero."""
    if not count or not duration_ns:
        return None
    return count / duration_ns * 1e9
