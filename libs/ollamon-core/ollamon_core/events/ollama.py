"""What the probe's watcher sees of Ollama: health, loaded models, catalogue, lifecycle.

`ollama_url` names the server without credentials (`PublicUrl`: redacted when built or
parsed), and so does every URL in an `error_message` (`PublicText`).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import Field

from ollamon_core.events.base import Event, FrozenModel
from ollamon_core.redaction import PublicText, PublicUrl


class OllamaHealth(Event):
    """Result of polling `/api/version` on one Ollama server."""

    kind: str = Field(default="health", pattern="^health$")
    ollama_url: PublicUrl
    up: bool
    version: str | None = None
    response_time_ms: float | None = None
    error_message: PublicText | None = None
    changed: bool = False


class LoadedModel(FrozenModel):
    """One entry of `/api/ps`."""

    name: str
    model: str = ""
    digest: str = ""
    size_bytes: int = 0
    size_vram_bytes: int = 0
    context_length: int | None = None
    expires_at: datetime | None = None
    partially_offloaded: bool = False


class CatalogModel(FrozenModel):
    """One entry of `/api/tags`, with details from `/api/show` where known."""

    name: str
    digest: str = ""
    size_bytes: int = 0
    family: str | None = None
    parameter_size: str | None = None
    parameter_count: int | None = None
    quantization_level: str | None = None
    context_length: int | None = None


class OllamaModelsSnapshot(Event):
    """The loaded models and the catalogue of one Ollama server."""

    kind: str = Field(default="models", pattern="^models$")
    ollama_url: PublicUrl
    loaded: list[LoadedModel] = Field(default_factory=list)
    available: list[CatalogModel] = Field(default_factory=list)


class LifecycleChange(StrEnum):
    """How a model's residency changed between two `/api/ps` snapshots."""

    LOADED = "loaded"
    UNLOADED = "unloaded"
    EVICTED = "evicted"


class ModelLifecycleEvent(Event):
    """A model was loaded, unloaded, or evicted by another model."""

    kind: str = Field(default="lifecycle", pattern="^lifecycle$")
    ollama_url: PublicUrl
    model_name: str
    change: LifecycleChange
    size_bytes: int = 0
    size_vram_bytes: int = 0
    partially_offloaded: bool = False
    evicted_by: str | None = None
