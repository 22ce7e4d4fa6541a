"""What travels on the bus: JSON bodies, the header names, and the model of each subject.

The wire rule: every event is its model's JSON, except the high-volume ones
(`COMPACT_MODELS`: a request event per proxied request, a system sample per host and
interval), which leave out every field that holds its default (a request event is 230-450
bytes instead of about 1,140). Fields with a default factory (`event_id`, `timestamp`,
`host`) and fields without a default are always sent; the subject names the kind (`kind`
is left out too). Readers parse with the models, which fill the defaults in again; whoever
reads the stream with their own NATS client must do the same (README, "Reading the stream
yourself"). Alerts, replies and every other event travel whole.
"""

from __future__ import annotations

import functools
from typing import Any, TypeVar

import msgspec
from nats.aio.msg import Msg
from pydantic import BaseModel

from ollamon_core import subjects
from ollamon_core.bus.mirror import struct_for
from ollamon_core.events import OllamaModelMetrics, OllamaSystemMetrics

ModelT = TypeVar("ModelT", bound=BaseModel)

MSG_ID_HEADER = "Nats-Msg-Id"
ORIGINAL_SUBJECT_HEADER = "Ollamon-Original-Subject"
ERROR_HEADER = "Ollamon-Error"
TRUNCATED_HEADER = "Ollamon-Truncated-From-Bytes"

# Published without the fields that hold their default (the wire rule above).
COMPACT_MODELS: tuple[type[BaseModel], ...] = (OllamaModelMetrics, OllamaSystemMetrics)

# Subjects are few (one per model token), and matching every pattern per message showed up
# in ingest profiles.
_model_for_subject = functools.lru_cache(maxsize=4096)(subjects.model_for_subject)


def _as_struct(value: Any) -> msgspec.Struct:
    # A model's attributes in its msgspec mirror, which leaves out the fields at their
    # default (`omit_defaults`; a default factory's value is always written). Nested
    # models come here through the encoder's hook.
    if isinstance(value, BaseModel):
        return struct_for(type(value))(**value.__dict__)
    raise TypeError(f"cannot encode {type(value).__name__}")


_COMPACT_ENCODER = msgspec.json.Encoder(enc_hook=_as_struct)


def encode(model: BaseModel) -> bytes:
    """Serialise a model to the JSON bytes that travel on the bus (the wire rule above)."""
    if type(model) in COMPACT_MODELS:
        return _COMPACT_ENCODER.encode(model)
    return model.model_dump_json().encode()


def encode_whole(model: BaseModel) -> bytes:
    """A model's JSON with every field, compact kinds included (what users are shown)."""
    return model.model_dump_json().encode()


def parse(msg: Msg, model: type[ModelT] | None = None) -> ModelT | None:
    """Validate a message against `model` (or its subject's model); None if it has none.

    Raises pydantic's ValidationError when the message does not validate.
    """
    target = model or _model_for_subject(msg.subject)
    if target is None:
        return None
    return target.model_validate_json(msg.data)  # type: ignore[return-value]
