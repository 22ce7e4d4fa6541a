"""What travels on the bus: JSON bodies, the header names, and the model of each subject."""

from __future__ import annotations

import functools
from typing import TypeVar

from nats.aio.msg import Msg
from pydantic import BaseModel

from ollamon_core import subjects

ModelT = TypeVar("ModelT", bound=BaseModel)

MSG_ID_HEADER = "Nats-Msg-Id"
ORIGINAL_SUBJECT_HEADER = "Ollamon-Original-Subject"
ERROR_HEADER = "Ollamon-Error"
TRUNCATED_HEADER = "Ollamon-Truncated-From-Bytes"

# Subjects are few (one per model token), and matching every pattern per message showed up
# in ingest profiles.
_model_for_subject = functools.lru_cache(maxsize=4096)(subjects.model_for_subject)


def encode(model: BaseModel) -> bytes:
    """Serialise a model to the JSON bytes that travel on the bus."""
    return model.model_dump_json().encode()


def parse(msg: Msg, model: type[ModelT] | None = None) -> ModelT | None:
    """Validate a message against `model` (or its subject's model); None if it has none.

    Raises pydantic's ValidationError when the message does not validate.
    """
    target = model or _model_for_subject(msg.subject)
    if target is None:
        return None
    return target.model_validate_json(msg.data)  # type: ignore[return-value]
