"""The requests a probe's proxy is serving now (published by the probe, not persisted)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from ollamon_core.events.base import Event
from ollamon_core.events.limits import MAX_MODEL_NAME_CHARS
from ollamon_core.redaction import PublicUrl

# Model names a probe reports at most; any further ones are counted under IN_FLIGHT_OTHER.
MAX_IN_FLIGHT_MODELS = 64
IN_FLIGHT_OTHER = "(other)"


class InFlightRequests(Event):
    """How many measured requests (generation, embedding) the proxy is serving now, per model.

    Sent when the count changes (at most one event every few hundred milliseconds, so a
    burst of requests is one event) and every `interval_seconds` while any is in flight; the
    event after the last one ends has an empty `by_model`. A request whose body has not told
    its model yet counts under `(unknown)`.
    """

    kind: str = Field(default="in_flight", pattern="^in_flight$")
    ollama_url: PublicUrl = ""
    by_model: dict[
        Annotated[str, Field(max_length=MAX_MODEL_NAME_CHARS)], Annotated[int, Field(ge=1)]
    ] = Field(default_factory=dict, max_length=MAX_IN_FLIGHT_MODELS + 1)
    interval_seconds: float = Field(gt=0, description="Longest gap between two events while busy")
