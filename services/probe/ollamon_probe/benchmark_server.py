"""What the benchmark asks the server itself, beside the proxy: its kind, version and models,
a model's footprint once loaded, and unloading a model for the cold run.

These calls go straight to the server (the watcher's client): they are not part of the
measurement, and an unload through the proxy would be recorded as a request.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

import httpx

from ollamon_core.events import BackendKind, LoadedModel
from ollamon_probe.backends import identify, openai_models
from ollamon_probe.catalog import catalog_models, loaded_models, with_show_details
from ollamon_probe.residency import model_key

IDENTIFY_TIMEOUT_SECONDS = 5.0
UNLOAD_WAIT_SECONDS = 15.0
UNLOAD_POLL_SECONDS = 0.1


@dataclass(frozen=True)
class ModelFacts:
    """One served model as the server describes it; `capabilities` None when not said."""

    name: str
    digest: str | None = None
    quantization: str | None = None
    parameter_size: str | None = None
    size_bytes: int | None = None
    capabilities: tuple[str, ...] | None = None


@dataclass(frozen=True)
class ServerFacts:
    """The server: `ollama` or `openai` (any OpenAI-compatible one, llama.cpp's too)."""

    backend: str
    version: str | None
    models: list[ModelFacts]

    @property
    def openai(self) -> bool:
        """True for an OpenAI-compatible server."""
        return self.backend == "openai"


async def describe_server(http: httpx.AsyncClient, url: str) -> ServerFacts:
    """Which server answers at `url`, its version and its models (with `/api/show` facts).

    Raises httpx's errors, `backends.NotThisKindError` or `ServerError` when it cannot tell.
    """
    identity = await identify(http, url, None, IDENTIFY_TIMEOUT_SECONDS)
    if identity.kind is not BackendKind.OLLAMA:
        body = identity.models_body
        if body is None:
            reply = await http.get(f"{url}/v1/models")
            reply.raise_for_status()
            body = reply.json()
        models = [
            ModelFacts(name=model.name, size_bytes=model.size_bytes or None)
            for model in openai_models(body)
        ]
        return ServerFacts("openai", identity.version, models)
    tags = await http.get(f"{url}/api/tags")
    tags.raise_for_status()
    models = [await _ollama_model(http, url, model) for model in catalog_models(tags.json())]
    return ServerFacts("ollama", identity.version, models)


async def _ollama_model(http: httpx.AsyncClient, url: str, model: Any) -> ModelFacts:
    capabilities: tuple[str, ...] | None = None
    try:
        reply = await http.post(f"{url}/api/show", json={"model": model.name})
        reply.raise_for_status()
        show = reply.json()
    except (httpx.HTTPError, ValueError):
        show = None
    if isinstance(show, dict):
        model = with_show_details(model, show)
        listed = show.get("capabilities")
        if isinstance(listed, list):
            capabilities = tuple(str(item) for item in listed)
    return ModelFacts(
        name=model.name,
        digest=model.digest or None,
        quantization=model.quantization_level,
        parameter_size=model.parameter_size,
        size_bytes=model.size_bytes or None,
        capabilities=capabilities,
    )


def find_model(facts: ServerFacts, name: str) -> ModelFacts | None:
    """The served model `name` names (Ollama's `llama3.2` is `llama3.2:latest`)."""
    for model in facts.models:
        if model.name == name or (not facts.openai and model_key(model.name) == model_key(name)):
            return model
    return None


async def loaded(http: httpx.AsyncClient, url: str, name: str) -> LoadedModel | None:
    """What Ollama's `/api/ps` says of `name`, None when it is not loaded."""
    reply = await http.get(f"{url}/api/ps")
    reply.raise_for_status()
    for model in loaded_models(reply.json()):
        if model_key(model.name) == model_key(name):
            return model
    return None


async def unload(http: httpx.AsyncClient, url: str, model: ModelFacts) -> None:
    """Ask Ollama to unload `model` (`keep_alive: 0`) and wait until `/api/ps` drops it.

    Raises:
        TimeoutError: it was still loaded after `UNLOAD_WAIT_SECONDS`.
    """
    embeds_only = model.capabilities is not None and "completion" not in model.capabilities
    if embeds_only:
        body: dict[str, Any] = {"model": model.name, "input": [], "keep_alive": 0}
        path = "/api/embed"
    else:
        body, path = {"model": model.name, "keep_alive": 0}, "/api/generate"
    reply = await http.post(f"{url}{path}", json=body)
    reply.raise_for_status()
    deadline = time.monotonic() + UNLOAD_WAIT_SECONDS
    while await loaded(http, url, model.name) is not None:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{model.name} was still loaded {UNLOAD_WAIT_SECONDS:g} s later")
        await asyncio.sleep(UNLOAD_POLL_SECONDS)
