"""The watcher: polls every Ollama server for health, loaded models and the catalogue.

Per URL and interval: which kind of server answers (`backends.identify`: Ollama's
`/api/version`, llama.cpp's `/health`, an OpenAI-compatible `/v1/models`) -> `OllamaHealth`
with its `backend` (on every change, and every `health_every_polls` polls otherwise).
Ollama: `/api/ps` -> lifecycle events by diffing with the last poll, and the residency the
proxy uses for cold starts; `/api/tags` with `/api/show` on the first sight of a digest
(cached) -> `OllamaModelsSnapshot` (on a change of its contents, every `health_every_polls`
polls otherwise, and on a health-check request: an idle server costs the bus nothing in
between; every consumer keeps the latest snapshot). llama.cpp: `/props` and `/v1/models`
-> the snapshot, with its `/metrics` (when enabled, else `/slots`) as the snapshot's
`backend_load`. An OpenAI-compatible server: `/v1/models` -> the snapshot, with `/metrics`
where it has them (vLLM). Only Ollama's residency feeds cold starts: the others load their
model at start.

An Ollama server that answered the last poll is asked its version only on the polls
whose health is published (every `health_every_polls`th): in between, its models answering is
its health (up, same kind and version), one request of three saved each poll while idle; a
models poll that fails is followed by the full health check at once, so a server going down
is still seen at the next poll, a new version within `health_every_polls` polls. Ollama's
`/api/ps` and `/api/tags`, the two requests of every poll, go over the watcher's own
keep-alive connection with the proxy's light HTTP/1.1 client (`http1_pool`, about a fifth of
httpx's CPU per request, docs/decisions/0001-own-http1-client.md); the rest uses httpx.

The watcher polls the real URLs (httpx sends their userinfo as Basic auth); what it
publishes and logs names each server by its redacted URL, error texts redacted too.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx

from ollamon_core.events import (
    BackendKind,
    BackendLoad,
    CatalogModel,
    HealthCheckReply,
    HealthCheckRequest,
    LoadedModel,
    MonitoringAction,
    MonitoringControl,
    OllamaHealth,
    OllamaModelsSnapshot,
)
from ollamon_core.redaction import redact_text, redact_url
from ollamon_probe.backends import (
    Identity,
    NotThisKindError,
    ServerError,
    identify,
    still_alive,
)
from ollamon_probe.catalog import catalog_models, loaded_models, with_show_details
from ollamon_probe.http1_pool import UpstreamError, UpstreamPool
from ollamon_probe.lifecycle import lifecycle_events
from ollamon_probe.proxy import EventSink
from ollamon_probe.residency import ResidencyBook
from ollamon_probe.server_reader import ServerReader

log = logging.getLogger(__name__)

HEALTH_TIMEOUT_SECONDS = 5.0
POLL_CONNECT_TIMEOUT_SECONDS = 5.0
POLL_READ_TIMEOUT_SECONDS = 30.0
# What a failed poll of an Ollama server raises.
POLL_ERRORS = (httpx.HTTPError, UpstreamError, ValueError, NotThisKindError)

Pause = Callable[[asyncio.Event, float], Awaitable[None]]


async def wake_or_timeout(wake: asyncio.Event, seconds: float) -> None:
    """The wait between polls: until `wake` is set (a control arrived) or `seconds` pass."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(wake.wait(), seconds)


@dataclass(frozen=True)
class SnapshotContents:
    """What a models snapshot says of one server (all but its id and time)."""

    loaded: tuple[LoadedModel, ...]
    available: tuple[CatalogModel, ...]
    backend: BackendKind
    backend_load: BackendLoad | None


class Watcher:
    """Polls each Ollama URL every interval until stopped; controllable at runtime."""

    def __init__(
        self,
        labels: dict[str, str],
        sink: EventSink,
        http_client: httpx.AsyncClient,
        residency: ResidencyBook,
        interval_seconds: float,
        *,
        health_every_polls: int = 12,
        counters: Counter[str] | None = None,
        pause: Pause = wake_or_timeout,
    ) -> None:
        self.labels = labels
        self.sink = sink
        self.http_client = http_client
        self.residency = residency
        self.interval_seconds = interval_seconds
        self.health_every_polls = health_every_polls
        self.counters: Counter[str] = counters if counters is not None else Counter()
        self.enabled = True
        self._pause = pause
        self._wake = asyncio.Event()
        self._last_health: dict[str, OllamaHealth] = {}
        self._health_polls: Counter[str] = Counter()
        self._loaded: dict[str, list[LoadedModel]] = {}
        self._show_cache: dict[str, Any] = {}
        self._identities: dict[str, Identity] = {}
        # url -> (the last published snapshot's contents, polls since it was published)
        self._snapshots: dict[str, tuple[SnapshotContents, int]] = {}
        self._servers = ServerReader(http_client, health_every_polls, self.counters)
        self._pools: dict[str, UpstreamPool] = {}

    async def run(self) -> None:
        """Poll forever (cancel to stop); a stopped watcher idles until started again."""
        while True:
            if self.enabled:
                await self.poll_all()
            self._wake.clear()
            await self._pause(self._wake, self.interval_seconds)

    async def poll_all(self) -> list[OllamaHealth]:
        """One poll of every URL, at the same time."""
        return list(await asyncio.gather(*(self.poll(url) for url in self.labels)))

    async def poll(self, url: str) -> OllamaHealth:
        """Health, then (when up) the models of one URL; never raises on Ollama errors."""
        if self._models_tell_health(url):
            started = time.perf_counter()
            try:
                await self.poll_models(url)
            except POLL_ERRORS:
                self.counters["model_poll_retries"] += 1  # the full check says why, below
            else:
                return self._still_up(url, time.perf_counter() - started)
        health = await self.check_health(url)
        if health.up:
            try:
                await self.poll_models(url)
            except POLL_ERRORS as error:
                self.counters["model_poll_errors"] += 1
                log.warning(
                    "could not read the models of %s: %s", redact_url(url), redact_text(repr(error))
                )
        return health

    def _models_tell_health(self, url: str) -> bool:
        """True when this poll's health need not ask the server who it is: an Ollama server
        (the others have a health endpoint of their own, which may fail while their models
        answer) that answered the last poll, and this poll's health is not a published one."""
        previous = self._last_health.get(url)
        identity = self._identities.get(url)
        return (
            previous is not None
            and previous.up
            and identity is not None
            and identity.kind is BackendKind.OLLAMA
            and (self._health_polls[url] + 1) % self.health_every_polls != 0
        )

    def _still_up(self, url: str, seconds: float) -> OllamaHealth:
        """The health of a server whose models just answered: as last time, unchanged (not
        published: only a change or every `health_every_polls`th poll is)."""
        previous = self._last_health[url]
        health = OllamaHealth(
            host=previous.host,
            ollama_url=previous.ollama_url,
            up=True,
            backend=previous.backend,
            version=previous.version,
            response_time_ms=round(seconds * 1000.0, 3),
            changed=False,
        )
        self._last_health[url] = health
        self._health_polls[url] += 1
        return health

    async def check_health(self, url: str, *, force_publish: bool = False) -> OllamaHealth:
        """Which server answers and its version: publish on a change, every few polls, or
        when forced. A server that stops answering keeps the kind it last had."""
        started = time.perf_counter()
        known = self._identities.get(url)
        try:
            identity = await self._identity(url, known)
            kind, version, up, error = identity.kind, identity.version, True, None
            self._identities[url] = identity
        except (httpx.HTTPError, ValueError, NotThisKindError, ServerError) as failure:
            # httpx's messages hold the request's URL, userinfo included
            kind = known.kind if known is not None else BackendKind.OLLAMA
            version, up = None, False
            error = redact_text(f"{type(failure).__name__}: {failure}")[:500]
        previous = self._last_health.get(url)
        changed = (
            previous is None
            or previous.up != up
            or previous.version != version
            or previous.backend != kind
        )
        health = OllamaHealth(
            host=self.labels[url],
            ollama_url=redact_url(url),
            up=up,
            backend=kind,
            version=version,
            response_time_ms=round((time.perf_counter() - started) * 1000.0, 3),
            error_message=error,
            changed=changed,
        )
        self._last_health[url] = health
        self._health_polls[url] += 1
        if changed or force_publish or self._health_polls[url] % self.health_every_polls == 0:
            self.sink.emit(health)
            self.counters["health_events"] += 1
        return health

    async def _identity(self, url: str, known: Identity | None) -> Identity:
        """A server that was up is checked the cheap way of its kind; one that was down or
        never seen (or answers as another kind now) is identified again."""
        previous = self._last_health.get(url)
        if known is not None and previous is not None and previous.up:
            with contextlib.suppress(NotThisKindError):
                return await still_alive(self.http_client, url, known, HEALTH_TIMEOUT_SECONDS)
        last_kind = known.kind if known is not None else None
        return await identify(self.http_client, url, last_kind, HEALTH_TIMEOUT_SECONDS)

    async def poll_models(self, url: str) -> None:
        """What the server at `url` has loaded and serves, as its kind tells it."""
        identity = self._identities.get(url, Identity(BackendKind.OLLAMA))
        match identity.kind:
            case BackendKind.LLAMA_CPP:
                await self._poll_llama_cpp(url)
            case BackendKind.OPENAI:
                await self._poll_openai(url, identity)
            case _:
                await self._poll_ollama(url)

    async def _poll_llama_cpp(self, url: str) -> None:
        catalog, loaded, load = await self._servers.llama_cpp(url)
        self._emit_snapshot(url, BackendKind.LLAMA_CPP, loaded, catalog, load)

    async def _poll_openai(self, url: str, identity: Identity) -> None:
        catalog, loaded, load = await self._servers.openai(url, identity)
        self._emit_snapshot(url, BackendKind.OPENAI, loaded, catalog, load)

    def _emit_snapshot(
        self,
        url: str,
        kind: BackendKind,
        loaded: list[LoadedModel],
        available: list[CatalogModel],
        load: BackendLoad | None,
    ) -> None:
        contents = SnapshotContents(tuple(loaded), tuple(available), kind, load)
        last = self._snapshots.get(url)
        if last is not None and last[0] == contents and last[1] + 1 < self.health_every_polls:
            self._snapshots[url] = (contents, last[1] + 1)
            self.counters["snapshots_unchanged"] += 1
            return
        self._publish_snapshot(url, contents)

    def _publish_snapshot(self, url: str, contents: SnapshotContents) -> None:
        self._snapshots[url] = (contents, 0)
        self.sink.emit(
            OllamaModelsSnapshot(
                host=self.labels[url],
                ollama_url=redact_url(url),
                loaded=list(contents.loaded),
                available=list(contents.available),
                backend=contents.backend,
                backend_load=contents.backend_load,
            )
        )

    async def _poll_ollama(self, url: str) -> None:
        """`/api/ps` and `/api/tags` (+ `/api/show` for new digests) -> events."""
        loaded = loaded_models(await self._get_json(url, b"/api/ps"))
        self.residency.replace(url, loaded)
        for event in lifecycle_events(
            self._loaded.get(url), loaded, ollama_url=redact_url(url), host=self.labels[url]
        ):
            self.sink.emit(event)
            self.counters["lifecycle_events"] += 1
        self._loaded[url] = loaded
        tags = await self._get_json(url, b"/api/tags")
        available = [await self._described(url, model) for model in catalog_models(tags)]
        self._emit_snapshot(url, BackendKind.OLLAMA, loaded, available, None)

    async def _get_json(self, url: str, path: bytes) -> Any:
        """GET `path` of the server at `url` on the watcher's keep-alive connection to it;
        raises `UpstreamError` (no answer), `ValueError` (not a 200 of JSON)."""
        pool = self._pools.get(url)
        if pool is None:
            pool = self._pools[url] = UpstreamPool(
                url, POLL_CONNECT_TIMEOUT_SECONDS, POLL_READ_TIMEOUT_SECONDS
            )
        reply = await pool.request("GET", path, [], None)
        body = bytearray()
        try:
            async for piece, _last in reply.pieces():
                body += piece
        except BaseException:
            reply.close()
            raise
        reply.release()
        if reply.status != 200:
            raise ValueError(f"{path.decode()} answered HTTP {reply.status}")
        return json.loads(body)

    async def close(self) -> None:
        """Close the watcher's own connections."""
        for pool in self._pools.values():
            await pool.close()
        self._pools.clear()

    async def _described(self, url: str, model: CatalogModel) -> CatalogModel:
        key = model.digest or f"{url}|{model.name}"
        if key not in self._show_cache:
            try:
                reply = await self.http_client.post(f"{url}/api/show", json={"model": model.name})
                reply.raise_for_status()
                self._show_cache[key] = reply.json()
            except (httpx.HTTPError, ValueError) as error:
                log.debug("no /api/show for %s: %s", model.name, redact_text(repr(error)))
                return model
        return with_show_details(model, self._show_cache[key])

    async def health_check(self, _request: HealthCheckRequest) -> HealthCheckReply:
        """Answer a health-check request: check every server now and publish the results,
        with each server's latest snapshot again (a consumer that started since has it)."""
        results = await asyncio.gather(
            *(self.check_health(url, force_publish=True) for url in self.labels)
        )
        for url, (contents, _) in list(self._snapshots.items()):
            self._publish_snapshot(url, contents)
        return HealthCheckReply(results=list(results))

    def apply(self, control: MonitoringControl) -> None:
        """Start or stop polling, or change the interval (the proxy is not affected)."""
        if control.interval_seconds is not None:
            self.interval_seconds = control.interval_seconds
        self.enabled = control.action == MonitoringAction.START
        self._wake.set()
