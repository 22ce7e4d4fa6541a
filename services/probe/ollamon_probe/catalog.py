"""Read Ollama's `/api/ps`, `/api/tags` and `/api/show` replies into event models (pure)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from ollamon_core.events import CatalogModel, LoadedModel

_FRACTION = re.compile(r"(\.\d{6})\d+")


def go_datetime(value: object) -> datetime | None:
    """Go's RFC 3339 time (nanoseconds, `Z` or offset) as an aware datetime; None if absent."""
    if not isinstance(value, str) or not value:
        return None
    text = _FRACTION.sub(r"\1", value.replace("Z", "+00:00"))
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def _int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _models(body: object) -> list[dict[str, Any]]:
    models = body.get("models") if isinstance(body, dict) else None
    return [item for item in models or [] if isinstance(item, dict)]


def loaded_models(body: object) -> list[LoadedModel]:
    """`/api/ps` -> the loaded models, each flagged when partly offloaded to the CPU."""
    loaded: list[LoadedModel] = []
    for item in _models(body):
        size, size_vram = _int(item.get("size")), _int(item.get("size_vram"))
        context = item.get("context_length")
        loaded.append(
            LoadedModel(
                name=str(item.get("name") or item.get("model") or ""),
                model=str(item.get("model") or ""),
                digest=str(item.get("digest") or ""),
                size_bytes=size,
                size_vram_bytes=size_vram,
                context_length=context if isinstance(context, int) else None,
                expires_at=go_datetime(item.get("expires_at")),
                partially_offloaded=size_vram < size,
            )
        )
    return loaded


def catalog_models(body: object) -> list[CatalogModel]:
    """`/api/tags` -> the catalogue (details from `/api/show` are added later)."""
    catalog: list[CatalogModel] = []
    for item in _models(body):
        details = _dict(item.get("details"))
        catalog.append(
            CatalogModel(
                name=str(item.get("name") or item.get("model") or ""),
                digest=str(item.get("digest") or ""),
                size_bytes=_int(item.get("size")),
                family=details.get("family") or None,
                parameter_size=details.get("parameter_size") or None,
                quantization_level=details.get("quantization_level") or None,
            )
        )
    return catalog


def with_show_details(model: CatalogModel, show: object) -> CatalogModel:
    """Add `/api/show` facts: parameter count, context length, family, quantisation."""
    if not isinstance(show, dict):
        return model
    info = _dict(show.get("model_info"))
    details = _dict(show.get("details"))
    architecture = info.get("general.architecture") or details.get("family") or model.family
    context = info.get(f"{architecture}.context_length")
    count = info.get("general.parameter_count")
    return model.model_copy(
        update={
            "family": details.get("family") or model.family,
            "parameter_size": details.get("parameter_size") or model.parameter_size,
            "quantization_level": details.get("quantization_level") or model.quantization_level,
            "parameter_count": count if isinstance(count, int) else model.parameter_count,
            "context_length": context if isinstance(context, int) else model.context_length,
        }
    )
