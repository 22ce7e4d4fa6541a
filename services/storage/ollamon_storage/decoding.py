"""Decoding stored events from their JSON bytes with msgspec; the pydantic models stay the contract.

Storage validates every message of the stream before it stores it, and pydantic's
`model_validate_json` was the largest part of its CPU per event (about 9 µs of 45 for a
request event; `python -m bench.ingest_parts`). Each model's msgspec mirror
(`ollamon_core.bus.mirror.struct_for`: the same names, types, defaults and bounds) decodes
a message in about a microsecond.

The struct may only be stricter than the model, never laxer, so `Decoder.decode` falls
back to pydantic whenever msgspec refuses a message: pydantic then accepts it (lax input
such as `"1.5"` for a float, `NaN`, a number for a datetime) or raises its
`ValidationError`, and the bus dead-letters the message as before. A model the mirror
cannot copy exactly is always validated by pydantic. `tests/services/storage/test_decoding.py`
holds both decoders to the same answers.
"""

from __future__ import annotations

import functools
from typing import Any

import msgspec
from nats.aio.msg import Msg
from pydantic import BaseModel

from ollamon_core import subjects
from ollamon_core.bus.mirror import UnsupportedModelError, model_of, struct_for

__all__ = ["Decoder", "UnsupportedModelError", "compact_json", "model_of", "struct_for"]

_model_for_subject = functools.lru_cache(maxsize=4096)(subjects.model_for_subject)


class Decoder:
    """Decodes a message of the stream as its subject's model, msgspec first."""

    def __init__(self) -> None:
        self._decoders: dict[type[BaseModel], msgspec.json.Decoder[Any] | None] = {}

    def decoder_for(self, model: type[BaseModel]) -> msgspec.json.Decoder[Any] | None:
        """msgspec's decoder for `model`, or None when pydantic must validate it."""
        if model not in self._decoders:
            try:
                self._decoders[model] = msgspec.json.Decoder(struct_for(model))
            except UnsupportedModelError:
                self._decoders[model] = None
        return self._decoders[model]

    def decode(self, msg: Msg) -> Any:
        """The message as its subject's model (or mirror struct); None if no model.

        Raises pydantic's ValidationError when the message does not validate.
        """
        return self.decode_bytes(msg.subject, msg.data)

    def decode_bytes(self, subject: str, data: bytes) -> Any:
        """`decode` of a message's subject and body."""
        model = _model_for_subject(subject)
        if model is None:
            return None
        decoder = self.decoder_for(model)
        if decoder is not None:
            try:
                return decoder.decode(data)
            except (msgspec.ValidationError, msgspec.DecodeError, ValueError):
                pass  # stricter than the model: pydantic decides
        return model.model_validate_json(data)


_ENCODER = msgspec.json.Encoder()


def compact_json(event: object, data: bytes) -> str:
    """The JSON to store for a decoded event: a struct's without the fields that hold their
    default (its model fills them in again when the row is read), else `data` as it came.

    msgspec leaves out a value that is its default object (None, small integers, False,
    "", an enum member, empty lists); an equal copy such as a decoded "POST" stays."""
    if isinstance(event, msgspec.Struct):
        return _ENCODER.encode(event).decode()
    return data.decode()
