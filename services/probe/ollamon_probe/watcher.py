"""The watcher: polls every Ollama server for health, loaded models and the catalogue.

Per URL and interval: which kind of server answers (`backends.identify`: Ollama's
`/api/version`, llama.cpp's `/health`, an OpenAI-compatible `/v1/models`) -> `OllamaHealth`
with its `backend` (on every change, and every `health_every_polls` polls otherwise).
Ollama: `/api/ps` -> lifecycle events by diffing with the last poll, and the residency the
proxy uses for cold starts; `/api/tags` with `/api/show` on the first sight of a digest
(cached) -> `OllamaModelsSnapshot`. llama.cpp: `/props` and `/v1/models` -> the snapshot,
with its `/metrics` (when enabled, else `/slots`) as the snapshot's `backend_load`. An
OpenAI-compatible server: `/v1/models` -> the snapshot, with `/metrics` where it has them
(vLLM). Only Ollama's residency feeds cold starts: the others load their model at start.

The watcher polls the real URLs (httpx sends their userinfo as Basic auth); what it
publishes and logs names each server by its redacted URL, error texts redacted too.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable
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
from ollamon_probe.backend_metrics import Reading, read_load
from ollamon_probe.backends import (
    NotThisKindError,
    busy_slots,
    identify,
    llama_cpp_loaded,
    openai_models,
    served_as_loaded,
)
from ollamon_probe.catalog import catalog_models, loaded_models, with_show_details
from ollamon_probe.lifecycle import lifecycle_events
from ollamon_probe.proxy import EventSink
from ollamon_probe.residency import ResidencyBook

log = logging.getLogger(__name__)

HEALTH_TIMEOUT_SECONDS = 5.0
# A `/metrics` exposition larger than this is not read (vLLM's is some 100 KB).
MAX_METRICS_BYTES = 4 * 1024 * 1024

Pause = Callable[[asyncio.Event, float], Awaitable[None]]


async def wake_or_timeout(wake: asyncio.Event, seconds: float) -> None:
    """The wait between polls: until `wake` is set (a control arrived) or `seconds` pass."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(wake.wait(), seconds)


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
        self._kinds: dict[str, BackendKind] = {}
        self._readings: dict[str, Reading] = {}
        self._metrics_refused: Counter[str] = Counter()  # polls since /metrics said no

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
        health = await self.check_health(url)
        if health.up:
            try:
                await self.poll_models(url)
            except (httpx.HTTPError, ValueError, NotThisKindError) as error:
                self.counters["model_poll_errors"] += 1
                log.warning(
                    "could not read the models of %s: %s", redact_url(url), redact_text(repr(error))
                )
        return health

    async def check_health(self, url: str, *, force_publish: bool = False) -> OllamaHealth:
        """Which server answers and its version: publish on a change, every few polls, or
        when forced. A server that stops answering keeps the kind it last had."""
        started = time.perf_counter()
        last_kind = self._kinds.get(url)
        try:
            identity = await identify(self.http_client, url, last_kind, HEALTH_TIMEOUT_SECONDS)
            kind, version, up, error = identity.kind, identity.version, True, None
            self._kinds[url] = kind
        except (httpx.HTTPError, ValueError, NotThisKindError) as failure:
            # httpx's messages hold the request's URL, userinfo included
            kind, version, up = last_kind or BackendKind.OLLAMA, None, False
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

    async def poll_models(self, url: str) -> None:
        """What the server at `url` has loaded and serves, as its kind tells it."""
        match self._kinds.get(url, BackendKind.OLLAMA):
            case BackendKind.LLAMA_CPP:
                await self._poll_llama_cpp(url)
            case BackendKind.OPENAI:
                await self._poll_openai(url)
            case _:
                await self._poll_ollama(url)

    async def _get_json(self, url: str) -> Any:
        reply = await self.http_client.get(url, timeout=HEALTH_TIMEOUT_SECONDS)
        reply.raise_for_status()
        return reply.json()

    async def _poll_llama_cpp(self, url: str) -> None:
        """`/props` and `/v1/models` -> the snapshot; `/metrics` (else `/slots`) its load."""
        props = await self._get_json(f"{url}/props")
        catalog = openai_models(await self._get_json(f"{url}/v1/models"))
        load = await self._backend_load(url)
        if load is None or load.requests_processing is None:
            with contextlib.suppress(httpx.HTTPError, ValueError):
                busy = busy_slots(await self._get_json(f"{url}/slots"))
                if busy is not None:
                    load = (load or BackendLoad()).model_copy(
                        update={"requests_processing": float(busy)}
                    )
        self._emit_snapshot(
            url, BackendKind.LLAMA_CPP, llama_cpp_loaded(props, catalog), catalog, load
        )

    async def _poll_openai(self, url: str) -> None:
        """`/v1/models` -> the snapshot; `/metrics` (vLLM) its load."""
        catalog = openai_models(await self._get_json(f"{url}/v1/models"))
        load = await self._backend_load(url)
        self._emit_snapshot(url, BackendKind.OPENAI, served_as_loaded(catalog), catalog, load)

    def _emit_snapshot(
        self,
        url: str,
        kind: BackendKind,
        loaded: list[LoadedModel],
        available: list[CatalogModel],
        load: BackendLoad | None,
    ) -> None:
        self.sink.emit(
            OllamaModelsSnapshot(
                host=self.labels[url],
                ollama_url=redact_url(url),
                loaded=loaded,
                available=available,
                backend=kind,
                backend_load=load,
            )
        )

    async def _backend_load(self, url: str) -> BackendLoad | None:
        """The server's `/metrics` read into a load; None where it has none (asked again
        every `health_every_polls` polls after a refusal) or it is too large."""
        refused = self._metrics_refused[url]
        if refused and refused % self.health_every_polls:
            self._metrics_refused[url] += 1
            return None
        try:
            text = await self._metrics_text(url)
        except httpx.HTTPError as error:
            log.debug("no /metrics at %s: %s", redact_url(url), redact_text(repr(error)))
            text = None
        try:
            reading = (
                None if text is None else read_load(text, time.monotonic(), self._readings.get(url))
            )
        except ValueError as error:  # not Prometheus' text format
            log.debug("unreadable /metrics at %s: %s", redact_url(url), error)
            reading = None
        if reading is None:
            self._metrics_refused[url] += 1
            self._readings.pop(url, None)
            return None
        self._metrics_refused[url] = 0
        self._readings[url] = reading
        return reading.load

    async def _metrics_text(self, url: str) -> str | None:
        async with self.http_client.stream(
            "GET", f"{url}/metrics", timeout=HEALTH_TIMEOUT_SECONDS
        ) as reply:
            if reply.status_code != 200:
                return None
            body = bytearray()
            async for piece in reply.aiter_bytes():
                body += piece
                if len(body) > MAX_METRICS_BYTES:
                    self.counters["backend_metrics_too_large"] += 1
                    return None
        return body.decode("utf-8", "replace")

    async def _poll_ollama(self, url: str) -> None:
        """`/api/ps` and `/api/tags` (+ `/api/show` for new digests) -> events."""
        ps = await self.http_client.get(f"{url}/api/ps")
        ps.raise_for_status()
        loaded = loaded_models(ps.json())
        self.residency.replace(url, loaded)
        for event in lifecycle_events(
            self._loaded.get(url), loaded, ollama_url=redact_url(url), host=self.labels[url]
        ):
            self.sink.emit(event)
            self.counters["lifecycle_events"] += 1
        self._loaded[url] = loaded
        tags = await self.http_client.get(f"{url}/api/tags")
        tags.raise_for_status()
        available = [await self._described(url, model) for model in catalog_models(tags.json())]
        self._emit_snapshot(url, BackendKind.OLLAMA, loaded, available, None)

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
        """Answer a health-check request: check every server now and publish the results."""
        results = await asyncio.gather(
            *(self.check_health(url, force_publish=True) for url in self.labels)
        )
        return HealthCheckReply(results=list(results))

    def apply(self, control: MonitoringControl) -> None:
        """Start or stop polling, or change the interval (the proxy is not affected)."""
        if control.interval_seconds is not None:
            self.interval_seconds = control.interval_seconds
        self.enabled = control.action == MonitoringAction.START
        self._wake.set()
