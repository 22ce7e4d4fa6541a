"""Which kind of server is at an upstream URL, and what it says of itself.

`identify` asks the kind seen last first, then the others: Ollama (`GET /api/version`),
a llama.cpp server (`GET /health` answering `{"status": "ok"}`, its build from `/props`),
any OpenAI-compatible server (`GET /v1/models` answering a model list, its version from
`/version` where there is one, as vLLM has). A server that does not answer at all
(refused, timed out) is not asked again under another kind in the same poll.

Once found, `still_alive` checks a server the cheap way of its kind. An OpenAI-compatible
server is alive when `GET /health` gets any answer below 500, and its `/v1/models` is not
asked again until it has been down: llama-cpp-python's server answers `/v1/models` only
between generations, and by default cuts a running stream short for any request that
waits (`--interrupt_requests`). The readers turn llama.cpp's `/props` and `/v1/models` and
an OpenAI model list into event models.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from ollamon_core.events import BackendKind, CatalogModel, LoadedModel

ORDER = (BackendKind.OLLAMA, BackendKind.LLAMA_CPP, BackendKind.OPENAI)


@dataclass(frozen=True)
class Identity:
    """A server that answered as `kind`, with its version where it gives one, and (an
    OpenAI-compatible one) the `/v1/models` body it answered with."""

    kind: BackendKind
    version: str | None = None
    models_body: Any = None


class NotThisKindError(Exception):
    """The server answered, but not as the kind asked about."""


class ServerError(Exception):
    """The server answered with a 5xx status (there but not well) or refused the
    credentials (401, 403): no other kind would be answered otherwise."""


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


async def _get_json(http: httpx.AsyncClient, url: str, timeout: float) -> Any:
    reply = await http.get(url, timeout=timeout)
    if reply.status_code >= 500 or reply.status_code in (401, 403):
        # there, but failing or refusing the credentials: any other kind would get the same
        reason = f" {reply.reason_phrase}" if reply.reason_phrase else ""
        raise ServerError(f"GET {httpx.URL(url).path}: HTTP {reply.status_code}{reason}")
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
    except (NotThisKindError, ServerError):
        props = {}
    return Identity(BackendKind.LLAMA_CPP, _str(props.get("build_info")))


async def _openai(http: httpx.AsyncClient, url: str, timeout: float) -> Identity:
    body = _dict(await _get_json(http, f"{url}/v1/models", timeout))
    if not isinstance(body.get("data"), list):
        raise NotThisKindError("GET /v1/models: no model list")
    try:
        version = _str(_dict(await _get_json(http, f"{url}/version", timeout)).get("version"))
    except (NotThisKindError, ServerError):
        version = None
    return Identity(BackendKind.OPENAI, version, body)


_PROBES = {
    BackendKind.OLLAMA: _ollama,
    BackendKind.LLAMA_CPP: _llama_cpp,
    BackendKind.OPENAI: _openai,
}


async def identify(
    http: httpx.AsyncClient, url: str, last_kind: BackendKind | None, timeout: float
) -> Identity:
    """The kind of server at `url` and its version.

    Raises httpx's error when the server does not answer, `ServerError` when it answers
    with a 5xx status or refuses the credentials, `NotThisKindError` (naming what each
    kind's endpoint said) when it answers as none of the kinds.
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


async def still_alive(
    http: httpx.AsyncClient, url: str, known: Identity, timeout: float
) -> Identity:
    """Check a server found before, the cheap way of its kind (see the module's notes).

    Raises httpx's error when it does not answer, `ServerError` on a 5xx answer to an
    OpenAI-compatible server's `/health`, `NotThisKindError` when it answers as another
    kind now (identify it again).
    """
    if known.kind is not BackendKind.OPENAI:
        return await _PROBES[known.kind](http, url, timeout)
    reply = await http.get(f"{url}/health", timeout=timeout)
    if reply.status_code >= 500:
        raise ServerError(f"GET /health: HTTP {reply.status_code} {reply.reason_phrase}".strip())
    return known


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
