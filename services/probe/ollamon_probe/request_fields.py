"""What a request asked for: model, temperature, top_p, num_ctx (pure, no I/O).

The proxy streams request bodies upstream as they arrive and keeps only a bounded sample:
the whole body when it is small, else its head and tail (a chat with large images), which
are scanned for the few fields the event needs. Prompts are never kept beyond this.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

MAX_SAMPLE_BYTES = 1024 * 1024
TAIL_BYTES = 64 * 1024

_MODEL = re.compile(rb'"model"\s*:\s*"([^"\\]{1,512})"')
_NUMBERS = {
    name: re.compile(rb'"' + name.encode() + rb'"\s*:\s*(-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)')
    for name in ("temperature", "top_p", "num_ctx")
}


@dataclass(frozen=True)
class RequestFacts:
    """The fields of a request body that go into its event."""

    model_name: str = ""
    temperature: float | None = None
    top_p: float | None = None
    num_ctx: int | None = None


class BodySample:
    """A bounded copy of a request body: all of it up to 1 MiB, else head and tail."""

    __slots__ = ("head", "size", "tail")

    def __init__(self) -> None:
        self.head = bytearray()
        self.tail = bytearray()
        self.size = 0

    def feed(self, chunk: bytes) -> None:
        """Take the next piece of the body."""
        self.size += len(chunk)
        room = MAX_SAMPLE_BYTES - len(self.head)
        if room > 0:
            self.head += chunk[:room]
            chunk = chunk[room:]
        if chunk:
            self.tail += chunk
            if len(self.tail) > 2 * TAIL_BYTES:
                del self.tail[:-TAIL_BYTES]

    @property
    def complete(self) -> bool:
        """True when the sample holds the whole body."""
        return self.size == len(self.head)


def _number(value: object) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


def facts_from_object(body: dict[str, Any]) -> RequestFacts:
    """Fields of a parsed body; native options win over OpenAI's top-level parameters."""
    options = body.get("options")
    options = options if isinstance(options, dict) else {}
    model = body.get("model")
    num_ctx = options.get("num_ctx")
    temperature = _number(options.get("temperature"))
    top_p = _number(options.get("top_p"))
    return RequestFacts(
        model_name=model if isinstance(model, str) else "",
        temperature=temperature if temperature is not None else _number(body.get("temperature")),
        top_p=top_p if top_p is not None else _number(body.get("top_p")),
        num_ctx=num_ctx if isinstance(num_ctx, int) and not isinstance(num_ctx, bool) else None,
    )


def _scan(data: bytes) -> RequestFacts:
    model = _MODEL.search(data)
    found = {name: pattern.search(data) for name, pattern in _NUMBERS.items()}
    values = {name: float(match.group(1)) if match else None for name, match in found.items()}
    num_ctx = values["num_ctx"]
    return RequestFacts(
        model_name=model.group(1).decode("utf-8", "replace") if model else "",
        temperature=values["temperature"],
        top_p=values["top_p"],
        num_ctx=int(num_ctx) if num_ctx is not None else None,
    )


def request_facts(sample: BodySample) -> RequestFacts:
    """Read a request's fields from its sample (JSON when whole, a scan otherwise).

    A body that is not JSON (one that never completed, say) is scanned too, so the model
    is known whenever its field arrived.
    """
    if sample.complete:
        try:
            body = json.loads(sample.head)
        except ValueError:
            return _scan(bytes(sample.head))
        return facts_from_object(body) if isinstance(body, dict) else RequestFacts()
    return _scan(bytes(sample.head[:TAIL_BYTES]) + b"\n" + bytes(sample.tail))
