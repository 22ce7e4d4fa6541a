"""The msgspec mirrors decode exactly what the pydantic models accept, to the same values."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import msgspec
import pytest
from pydantic import BaseModel, ValidationError

from ollamon_core import subjects
from ollamon_core.events import (
    AlertAudit,
    Event,
    NotificationDelivery,
    OllamaModelMetrics,
    utc_now,
)
from ollamon_core.events.ollama import LifecycleChange
from ollamon_storage import rows
from ollamon_storage.decoding import Decoder, model_of, struct_for
from tests.services.storage import factories

REQUEST_SUBJECT = "ollamon.requests.box-1"


def _fields(value: object, model: type[BaseModel]) -> dict[str, Any]:
    return {name: _plain(getattr(value, name)) for name in model.model_fields}


def _plain(value: object) -> object:
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, BaseModel | msgspec.Struct):
        return _fields(value, model_of(value))
    return value


def _request_json(**changes: object) -> bytes:
    body = json.loads(factories.request().model_dump_json())
    body.update(changes)
    return json.dumps(body).encode()


def _sample_events() -> list[Event]:
    return [
        factories.request(),
        factories.request(
            error_occurred=True,
            error_message="upstream http://admin:pw@ollama:11434/api?token=abc refused",
            ollama_url="http://admin:pw@ollama:11434/?key=1",
            tokens_per_second=42.5,
            cold_start=True,
            token_source="usage",
        ),
        factories.system(),
        factories.alert(),
        factories.score("llama3.2:1b", 8.0),
        factories.lifecycle("llama3.2:1b", LifecycleChange.LOADED, utc_now()),
    ]


@pytest.mark.parametrize("event", _sample_events(), ids=lambda event: type(event).__name__)
def test_a_mirror_decodes_an_event_to_the_values_of_its_model(event: Event) -> None:
    model = type(event)
    data = event.model_dump_json().encode()
    decoded = Decoder().decode_bytes(subjects.subject_for(event), data)
    assert type(decoded) is struct_for(model)
    assert model_of(decoded) is model
    assert _fields(decoded, model) == _fields(model.model_validate_json(data), model)


def test_secrets_in_urls_are_redacted_by_the_mirror_as_by_the_model() -> None:
    data = _request_json(
        ollama_url="http://admin:pw@ollama:11434/?key=1", error_message="see http://u:p@x/"
    )
    decoded = Decoder().decode_bytes(REQUEST_SUBJECT, data)
    assert type(decoded) is not OllamaModelMetrics
    assert decoded.ollama_url == "http://ollama:11434/?key=REDACTED"
    assert decoded.error_message == "see http://x/"


@pytest.mark.parametrize(
    "changes",
    [
        {"response_time_ms": -1},
        {"kind": "request\n"},
        {"kind": "alert"},
        {"timestamp": "2026-01-01T00:00:00"},
        {"unknown_field": 1},
        {"host": ""},
        {"host": "h" * 256},
        {"event_id": "e" * 65},
        {"model_name": "m" * 513},
        {"error_message": "e" * 4097},
        {"token_source": "guessed"},
        {"tokens_generated": -1},
        {"memory_usage_mb": -0.5},
        {"response_time_ms": None},
        {"error_occurred": "maybe"},
    ],
)
def test_what_the_model_refuses_raises_its_validation_error(changes: dict[str, object]) -> None:
    data = _request_json(**changes)
    with pytest.raises(ValidationError):
        OllamaModelMetrics.model_validate_json(data)
    with pytest.raises(ValidationError):
        Decoder().decode_bytes(REQUEST_SUBJECT, data)


@pytest.mark.parametrize(
    "changes",
    [
        {"response_time_ms": "1.5"},
        {"tokens_generated": 3.0},
        {"error_occurred": 1},
        {"timestamp": 1_700_000_000},
    ],
)
def test_lax_input_the_model_accepts_is_decoded_by_the_model(changes: dict[str, object]) -> None:
    data = _request_json(**changes)
    decoded = Decoder().decode_bytes(REQUEST_SUBJECT, data)
    assert isinstance(decoded, OllamaModelMetrics)
    assert decoded == OllamaModelMetrics.model_validate_json(data)


def test_a_redacted_value_beyond_its_bound_goes_to_the_model() -> None:
    # 4,096 characters before redaction, more after it ("pw" becomes "REDACTED").
    message = "http://h/?token=pw " + "x" * (4096 - len("http://h/?token=pw "))
    data = _request_json(error_message=message)
    decoded_or_error: object
    try:
        decoded_or_error = Decoder().decode_bytes(REQUEST_SUBJECT, data)
    except ValidationError as error:
        decoded_or_error = type(error)
    try:
        expected: object = OllamaModelMetrics.model_validate_json(data)
    except ValidationError as error:
        expected = type(error)
    assert decoded_or_error == expected


def test_models_with_validators_are_decoded_by_pydantic() -> None:
    decoder = Decoder()
    assert decoder.decoder_for(AlertAudit) is None
    assert decoder.decoder_for(NotificationDelivery) is not None


def test_rows_from_a_mirror_equal_rows_from_the_model() -> None:
    events = [
        *_sample_events(),
        factories.lifecycle("m", LifecycleChange.UNLOADED, utc_now() - timedelta(days=1)),
    ]
    texts = [event.model_dump_json() for event in events]
    decoder = Decoder()
    mirrors = [
        decoder.decode_bytes(subjects.subject_for(event), text.encode())
        for event, text in zip(events, texts, strict=True)
    ]
    from_models = rows.group_rows(zip(events, texts, strict=True))
    from_mirrors = rows.group_rows(zip(mirrors, texts, strict=True))
    assert from_mirrors == from_models
    assert from_mirrors.skipped == 0
