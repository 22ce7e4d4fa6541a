"""Which kind of server is at an upstream URL, and what it says of itself.

`identify` asks the kind seen last first, then the others: Ollama (`GET /api/version`),
a llama.cpp server (`GET /health` answering `{"status": "ok"}`, its build from `/props`),
any OpenAI-compatible server (`GET /v1/models` answering a model list, its version from
`/version` where there is one, as vLLM has). A server that does not answer at all
(refused, timed out) is not asked again under another kind in the same poll. The readers
turn llama.cpp's `/props` and `/v1/models` and an OpenAI model list into event models.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from ollamon_core.events import BackendKind, CatalogModel, LoadedModel

ORDER = (BackendKind.OLLAMA, BackendKind.LLAMA_CPP, BackendKind.OPENAI)


@dataclass(frozen=True)
class Identity:
    """A server that answered as `kind`, with its version where it gives one."""

    kind: BackendKind
    version: str | None = None


class NotThisKindError(Exception):
    """The server answered, but not as the kind asked about."""


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


async def _get_json(http: httpx.AsyncClient, url: str, timeout: float) -> Any:
    reply = await http.get(url, timeout=timeout)
    if reply.status_code >= 400:
        raise NotThisKindError(f"GET {httpx.URL(url).path}: HTTP {reply.status_code}")
    try:
        return reply.json()
    except ValueError as error:
        raise NotThisKindError(f"GET {httpx.URL(url).path}: not JSON") from error


async def _ollama(http: httpx.AsyncClient, url: str, timeout: float) -> Identity:
    body = _dict(await _get_json(http, f"{url}/api/version", timeout))
    if "version" not in body:
        raise NotThisKindError("GET /api/version: no version")
    return Identity(BackendKind.OLLAMA, _str(body.get("version")))


async def _llama_cpp(http: httpx.AsyncClient, url: str, timeout: float) -> Identity:
    body = _dict(await _get_json(http, f"{url}/health", timeout))
    if body.get("status") != "ok":
        raise NotThisKindError("GET /health: no status ok")
    try:
        props = _dict(await _get_json(http, f"{url}/props", timeout))
    except NotThisKindError:
        props = {}
    return Identity(BackendKind.LLAMA_CPP, _str(props.get("build_info")))


async def _openai(http: httpx.AsyncClient, url: str, timeout: float) -> Identity:
    body = _dict(await _get_json(http, f"{url}/v1/models", timeout))
    if not isinstance(body.get("data"), list):
        raise NotThisKindError("GET /v1/models: no model list")
    try:
        version = _str(_dict(await _get_json(http, f"{url}/version", timeout)).get("version"))
    except NotThisKindError:
        version = None
    return Identity(BackendKind.OPENAI, version)


_PROBES = {
    BackendKind.OLLAMA: _ollama,
    BackendKind.LLAMA_CPP: _llama_cpp,
    BackendKind.OPENAI: _openai,
}


async def identify(
    http: httpx.AsyncClient, url: str, last_kind: BackendKind | None, timeout: float
) -> Identity:
    """The kind of server at `url` and its version.

    Raises httpx's error when the server does not answer, `NotThisKindError` (naming what
    each kind's endpoint said) when it answers as none of them.
    """
    order = ORDER if last_kind is None else (last_kind, *(k for k in ORDER if k != last_kind))
    refusals = []
    for kind in order:
        try:
            return await _PROBES[kind](http, url, timeout)
        except NotThisKindError as refusal:
            refusals.append(str(refusal))
    raise NotThisKindError(
        "no Ollama, llama.cpp or OpenAI-compatible API answered (" + "; ".join(refusals) + ")"
    )


def _model_list(body: object) -> list[dict[str, Any]]:
    data = _dict(body).get("data")
    return [item for item in data or [] if isinstance(item, dict) and _str(item.get("id"))]


def openai_models(models_body: object) -> list[CatalogModel]:
    """`/v1/models` -> the models a server serves (names; llama.cpp's `meta` adds sizes)."""
    catalog = []
    for item in _model_list(models_body):
        meta = _dict(item.get("meta"))
        params, context = meta.get("n_params"), meta.get("n_ctx_train")
        size = meta.get("size")
        catalog.append(
            CatalogModel(
                name=str(item["id"]),
                size_bytes=size if isinstance(size, int) else 0,
                parameter_count=params if isinstance(params, int) else None,
                context_length=context if isinstance(context, int) else None,
            )
        )
    return catalog


def llama_cpp_loaded(props_body: object, catalog: list[CatalogModel]) -> list[LoadedModel]:
    """What a llama.cpp server has loaded: its model (from `/v1/models`, else `/props`),
    with the context its slots run with. Sizes stay unknown (0): where its weights sit,
    VRAM or RAM, the server does not say, and a size without a VRAM share would read as
    a model wholly offloaded to the CPU."""
    props = _dict(props_body)
    settings = _dict(props.get("default_generation_settings"))
    n_ctx = settings.get("n_ctx")
    path = _str(props.get("model_path")) or _str(settings.get("model")) or ""
    names = [model.name for model in catalog] or ([path] if path else [])
    return [
        LoadedModel(
            name=name,
            model=path,
            context_length=n_ctx if isinstance(n_ctx, int) else None,
        )
        for name in names
    ]


def served_as_loaded(catalog: list[CatalogModel]) -> list[LoadedModel]:
    """An OpenAI-compatible server's models, taken as loaded (it says nothing more; sizes
    unknown, as for llama.cpp)."""
    return [LoadedModel(name=model.name) for model in catalog]


def busy_slots(slots_body: object) -> int | None:
    """llama.cpp's `/slots` -> how many slots are processing a request."""
    if not isinstance(slots_body, list):
        return None
    return sum(1 for slot in slots_body if isinstance(slot, dict) and slot.get("is_processing"))
