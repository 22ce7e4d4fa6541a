"""msgspec mirrors of the pydantic event models: the same fields, defaults and bounds.

`struct_for(model)` builds, from a pydantic model's own fields, a `msgspec.Struct` with the
same names, types, defaults and bounds (`ge`/`gt`/`le`/`lt`, lengths, patterns, aware
datetimes, enums, unknown fields forbidden, nested models). It serves two paths: storage
decodes stream messages into it in about a microsecond (`ollamon_storage/decoding.py`,
which falls back to pydantic whenever msgspec refuses a message), and `wire.encode`
publishes the high-volume events from it without the fields that hold their default.

A model with anything this module cannot mirror exactly (a field or model validator, a
before-validator, an alias, a union of two types, `Any`, ...) gets no struct
(`UnsupportedModelError`). After-validators (`PublicUrl`, `PublicText`: redaction) run on
the value (`__post_init__`), and the bounds are checked again on what they return.

A struct carries the attributes of its model; `model_of` gives the model it stands for.
"""

from __future__ import annotations

import copy
import enum
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
from pydantic import AfterValidator, AwareDatetime, BaseModel, NaiveDatetime
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

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
            omit_defaults=True,  # `wire.encode` of the high-volume events
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
