"""Decoding stored events from their JSON bytes with msgspec; the pydantic models stay the contract.

Storage validates every message of the stream before it stores it, and pydantic's
`model_validate_json` was the largest part of its CPU per event (about 9 µs of 45 for a
request event; `python -m bench.ingest_parts`). `struct_for(model)` builds, from the
pydantic model's own fields, a `msgspec.Struct` with the same names, types, defaults and
bounds (`ge`/`gt`/`le`/`lt`, lengths, patterns, aware datetimes, enums, unknown fields
forbidden, nested models); msgspec decodes into it in about a microsecond.

The struct may only be stricter than the model, never laxer, so `Decoder.decode` falls
back to pydantic whenever msgspec refuses a message: pydantic then accepts it (lax input
such as `"1.5"` for a float, `NaN`, a number for a datetime) or raises its
`ValidationError`, and the bus dead-letters the message as before. A model with anything
this module cannot mirror exactly (a field or model validator, a before-validator, an
alias, a union of two types, `Any`, ...) gets no struct and is always validated by
pydantic. After-validators (`PublicUrl`, `PublicText`: redaction) run on the decoded value,
and the bounds are checked again on what they return, so a value near a bound goes to
pydantic too. `tests/services/storage/test_decoding.py` holds both decoders to the same
answers.

A decoded struct carries the attributes of its model (typed as the model for the row
code, which only reads attributes); `model_of` gives the model it stands for.
"""

from __future__ import annotations

import copy
import enum
import functools
import inspect
import re
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

import annotated_types
import msgspec
from nats.aio.msg import Msg
from pydantic import AfterValidator, AwareDatetime, BaseModel, NaiveDatetime
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from ollamon_core import subjects

_ALLOWED_CONFIG = {"frozen", "extra", "title"}
_SCALARS: tuple[type, ...] = (str, int, float, bool)
_BOUND_NAMES = {
    annotated_types.Ge: "ge",
    annotated_types.Gt: "gt",
    annotated_types.Le: "le",
    annotated_types.Lt: "lt",
    annotated_types.MinLen: "min_length",
    annotated_types.MaxLen: "max_length",
}
_GENERAL = "_PydanticGeneralMetadata"  # pydantic's class for `Field(pattern=...)` and the like
Validators = tuple[Callable[[Any], Any], ...]
_model_for_subject = functools.lru_cache(maxsize=4096)(subjects.model_for_subject)


class UnsupportedModelError(Exception):
    """The model has something a msgspec struct cannot mirror exactly."""


def _python_pattern(pattern: str) -> str:
    # pydantic matches with Rust's regex, where `$` is the end of the text; in Python `$`
    # also matches before a final newline, `\Z` only at the end.
    if "\\" in pattern.replace("\\\\", "") or "(?" in pattern:
        raise UnsupportedModelError(f"pattern {pattern!r} is not mirrored")
    return pattern.replace("$", r"\Z")


def _plain_validator(item: AfterValidator) -> Callable[[Any], Any]:
    # pydantic passes a second argument (its ValidationInfo) to a function that takes two.
    if len(inspect.signature(item.func).parameters) != 1:
        raise UnsupportedModelError(f"validator {item!r} takes a validation context")
    return cast(Callable[[Any], Any], item.func)


def _bounds(metadata: list[Any]) -> tuple[dict[str, Any], Validators]:
    bounds: dict[str, Any] = {}
    validators: list[Callable[[Any], Any]] = []
    for item in metadata:
        if isinstance(item, AfterValidator):
            validators.append(_plain_validator(item))
            continue
        name = _BOUND_NAMES.get(type(item))
        if name is not None:
            bounds[name] = getattr(item, name)
            continue
        options = dict(item.__repr_args__()) if type(item).__name__ == _GENERAL else {}
        pattern = options.pop("pattern", None)
        if not options.keys() <= {"pattern"} or pattern is None:
            raise UnsupportedModelError(f"constraint {item!r} is not mirrored")
        bounds["pattern"] = _python_pattern(pattern)
    return bounds, tuple(validators)


def _check_bounds(value: Any, bounds: dict[str, Any]) -> None:
    size = len(value) if isinstance(value, str | list | dict) else None
    if size is not None and (
        size < bounds.get("min_length", 0) or size > bounds.get("max_length", size)
    ):
        raise ValueError("outside its length bounds after its validator")
    if "pattern" in bounds and not re.search(bounds["pattern"], value):
        raise ValueError("does not match its pattern after its validator")


class _Builder:
    """Turns pydantic annotations into msgspec ones, collecting after-validators."""

    def __init__(self, structs: dict[type[BaseModel], type[msgspec.Struct]]) -> None:
        self.structs = structs  # built already (nested models are shared)

    def convert(self, annotation: Any, bounds: dict[str, Any]) -> tuple[Any, Validators]:
        """The msgspec annotation for a pydantic one, and its after-validators."""
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            inner, *extra = typing.get_args(annotation)
            validators = tuple(
                _plain_validator(item) for item in extra if isinstance(item, AfterValidator)
            )
            converted, nested = self.convert(inner, bounds)
            if len(validators) != len(extra) or nested:
                raise UnsupportedModelError(f"annotation {annotation!r} is not mirrored")
            return converted, validators
        if origin in (typing.Union, types.UnionType):
            members = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
            if len(members) != 1 or len(typing.get_args(annotation)) != 2:
                raise UnsupportedModelError(f"union {annotation!r} is not mirrored")
            converted, validators = self.convert(members[0], bounds)
            return converted | None, validators  # None skips them, as in pydantic
        if origin in (list, dict):
            *keys, item = typing.get_args(annotation)
            converted, nested = self.convert(item, {})
            if nested or keys not in ([], [str]):
                raise UnsupportedModelError(f"annotation {annotation!r} is not mirrored")
            container = list[converted] if origin is list else dict[str, converted]  # type: ignore[valid-type]
            return _meta(container, bounds), ()
        if origin is not None:
            raise UnsupportedModelError(f"annotation {annotation!r} is not mirrored")
        return self._plain(annotation, bounds), ()

    def _plain(self, annotation: Any, bounds: dict[str, Any]) -> Any:
        if annotation is AwareDatetime:
            return _meta(datetime, bounds, tz=True)
        if annotation is NaiveDatetime:
            return _meta(datetime, bounds, tz=False)
        if annotation is datetime:
            return _meta(datetime, bounds)
        if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
            if bounds:
                raise UnsupportedModelError("bounds on an enum are not mirrored")
            return annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            if bounds:
                raise UnsupportedModelError("bounds on a model are not mirrored")
            return self.struct(annotation)
        if annotation in _SCALARS:
            return _meta(annotation, bounds)
        raise UnsupportedModelError(f"type {annotation!r} is not mirrored")

    def struct(self, model: type[BaseModel]) -> type[msgspec.Struct]:
        if model in self.structs:
            return self.structs[model]
        _check_model(model)
        fields: list[tuple[str, Any, Any]] = []
        afters: list[_After] = []
        for name, info in model.model_fields.items():
            bounds, validators = _bounds(info.metadata)
            converted, inner = self.convert(info.annotation, bounds)
            if validators and inner:
                raise UnsupportedModelError(f"{model.__name__}.{name}: two validators")
            if validators or inner:
                afters.append(_After(name, validators or inner, bounds))
            fields.append((name, converted, _default(info)))
        namespace: dict[str, Any] = {"pydantic_model": model}
        if afters:
            namespace["__post_init__"] = _post_init(afters)
        struct = msgspec.defstruct(
            f"{model.__name__}Struct",
            [
                (name, kind) if default is _REQUIRED else (name, kind, default)
                for name, kind, default in fields
            ],
            namespace=namespace,
            forbid_unknown_fields=model.model_config.get("extra") == "forbid",
            gc=False,  # scalars, lists and nested structs: no reference cycles
            omit_defaults=True,  # `compact_json`
            kw_only=True,  # required and optional fields in the model's order
        )
        self.structs[model] = struct
        return struct


_REQUIRED = object()
_STRUCTS: dict[type[BaseModel], type[msgspec.Struct]] = {}


def _meta(annotation: Any, bounds: dict[str, Any], **extra: Any) -> Any:
    options = {**bounds, **extra}
    return typing.Annotated[annotation, msgspec.Meta(**options)] if options else annotation


@dataclass(frozen=True)
class _After:
    """A field's after-validators, and the bounds to check again when they change it."""

    name: str
    validators: Validators
    bounds: dict[str, Any]


def _post_init(afters: list[_After]) -> Callable[[Any], None]:
    def __post_init__(self: Any) -> None:  # msgspec's hook
        for after in afters:
            value = original = getattr(self, after.name)
            if value is None:
                continue
            for validator in after.validators:
                value = validator(value)
            if value != original:
                _check_bounds(value, after.bounds)
                setattr(self, after.name, value)

    return __post_init__


def _default(info: FieldInfo) -> Any:
    if info.default_factory is not None:
        factory = cast(Callable[[], Any], info.default_factory)
        return msgspec.field(default_factory=factory)
    if info.default is PydanticUndefined:
        return _REQUIRED
    if isinstance(info.default, list | dict | set):
        value = info.default
        return msgspec.field(default_factory=lambda: copy.deepcopy(value))
    return info.default


def _check_model(model: type[BaseModel]) -> None:
    decorators = model.__pydantic_decorators__
    if any(
        getattr(decorators, kind)
        for kind in ("validators", "field_validators", "root_validators", "model_validators")
    ):
        raise UnsupportedModelError(f"{model.__name__} has validators")
    if set(model.model_config) - _ALLOWED_CONFIG or model.model_config.get("extra") == "allow":
        raise UnsupportedModelError(f"{model.__name__} has a configuration not mirrored")
    if model.model_post_init is not BaseModel.model_post_init:
        raise UnsupportedModelError(f"{model.__name__} has model_post_init")
    for name, info in model.model_fields.items():
        if info.alias not in (None, name) or info.validation_alias not in (None, name):
            raise UnsupportedModelError(f"{model.__name__}.{name} has an alias")


def struct_for(model: type[BaseModel]) -> type[msgspec.Struct]:
    """A msgspec struct mirroring `model` (UnsupportedModelError if it cannot be exact)."""
    return _Builder(_STRUCTS).struct(model)


def model_of(event: object) -> type:
    """The pydantic model an event stands for (its own class, or its struct's model)."""
    return getattr(type(event), "pydantic_model", type(event))


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
