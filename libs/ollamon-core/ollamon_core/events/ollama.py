"""What the probe's watcher sees of Ollama: health, loaded models, catalogue, lifecycle.

The same events describe the other servers the probe can front (`BackendKind`): a llama.cpp
server or any OpenAI-compatible one; `backend` says which kind answered.

`ollama_url` names the server without credentials (`PublicUrl`: redacted when built or
parsed), and so does every URL in an `error_message` (`PublicText`).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import Field

from ollamon_core.events.base import Event, FrozenModel
from ollamon_core.redaction import PublicText, PublicUrl


class BackendKind(StrEnum):
    """The kind of inference server at an upstream URL, as the watcher detected it."""

    OLLAMA = "ollama"
    LLAMA_CPP = "llama.cpp"
    OPENAI = "openai-compatible"

    @property
    def display_name(self) -> str:
        """How messages name it: `Ollama`, `llama.cpp server`, `OpenAI-compatible server`."""
        return _DISPLAY_NAMES[self]


_DISPLAY_NAMES = {
    BackendKind.OLLAMA: "Ollama",
    BackendKind.LLAMA_CPP: "llama.cpp server",
    BackendKind.OPENAI: "OpenAI-compatible server",
}


class OllamaHealth(Event):
    """Result of polling the health of one Ollama server (or of another `backend`).

    Ollama's is `/api/version`; a llama.cpp server's `/health` and `/props`; any other
    OpenAI-compatible server's `/v1/models` (and `/version` where it has one).
    """

    kind: str = Field(default="health", pattern="^health$")
    ollama_url: PublicUrl
    up: bool
    backend: BackendKind = Field(
        default=BackendKind.OLLAMA,
        description="The kind of server that answered (the last one detected when down)",
    )
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


class BackendLoad(FrozenModel):
    """What a server's own Prometheus metrics say of its load, at one poll.

    Read from llama.cpp's `/metrics` (`llamacpp:` names, with `--metrics`) or vLLM's
    (`vllm:` names); None where the server does not say. Rates are over the interval since
    the previous poll (None at the first one or after a counter reset).
    """

    requests_processing: float | None = Field(default=None, ge=0)
    requests_waiting: float | None = Field(
        default=None, ge=0, description="Requests queued (deferred) for a free slot"
    )
    kv_cache_usage_percent: float | None = Field(default=None, ge=0)
    tokens_per_second: float | None = Field(
        default=None, ge=0, description="Tokens generated per second, all requests together"
    )
    prompt_tokens_per_second: float | None = Field(default=None, ge=0)
    tokens_generated_total: float | None = Field(default=None, ge=0)
    prompt_tokens_total: float | None = Field(default=None, ge=0)


class OllamaModelsSnapshot(Event):
    """The loaded models and the catalogue of one Ollama server (or another `backend`)."""

    kind: str = Field(default="models", pattern="^models$")
    ollama_url: PublicUrl
    loaded: list[LoadedModel] = Field(default_factory=list)
    available: list[CatalogModel] = Field(default_factory=list)
    backend: BackendKind = BackendKind.OLLAMA
    backend_load: BackendLoad | None = Field(
        default=None, description="The server's own metrics, where it exposes Prometheus ones"
    )


class LifecycleChange(StrEnum):
    """How a model's residency changed between two `/api/ps` snapshots."""

    LOADED = "loaded"
    UNLOADED = "unloaded"
    EVICTED = "evicted"
    # From Ollama's server log only (the probe follows it): what /api/ps cannot show.
    CRASHED = "crashed"  # a runner ended on its own or failed to load its model
    OUT_OF_MEMORY = "out_of_memory"  # a runner could not allocate its model's memory


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
    detail: PublicText | None = Field(
        default=None,
        max_length=1000,
        description="What Ollama's server log said (crashed, out_of_memory); model_name is "
        "the model's blob there (sha256-...) or (unknown): the log does not name models",
    )
