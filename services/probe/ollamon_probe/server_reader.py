"""What a llama.cpp or other OpenAI-compatible server has loaded, and its own metrics.

The watcher's reads of the servers that are not Ollama: llama.cpp's `/props`, `/v1/models`
and `/slots`, the `/v1/models` an OpenAI-compatible server answered when it was found, and
`/metrics` where the server has Prometheus metrics (read up to `MAX_METRICS_BYTES`; a server
that refuses is asked again every `ask_again_polls` polls).
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections import Counter
from typing import Any

import httpx

from ollamon_core.events import BackendLoad, CatalogModel, LoadedModel
from ollamon_core.redaction import redact_text, redact_url
from ollamon_probe.backend_metrics import Reading, read_load
from ollamon_probe.backends import (
    Identity,
    busy_slots,
    llama_cpp_loaded,
    openai_models,
    served_as_loaded,
)

log = logging.getLogger(__name__)

READ_TIMEOUT_SECONDS = 5.0
# A `/metrics` exposition larger than this is not read (vLLM's is some 100 KB).
MAX_METRICS_BYTES = 4 * 1024 * 1024

Models = tuple[list[CatalogModel], list[LoadedModel], BackendLoad | None]


class ServerReader:
    """Reads servers that are not Ollama; keeps each one's last metrics for rates."""

    def __init__(
        self, http_client: httpx.AsyncClient, ask_again_polls: int, counters: Counter[str]
    ) -> None:
        self.http_client = http_client
        self.ask_again_polls = ask_again_polls
        self.counters = counters
        self._readings: dict[str, Reading] = {}
        self._metrics_refused: Counter[str] = Counter()  # polls since /metrics said no

    async def llama_cpp(self, url: str) -> Models:
        """`/props` and `/v1/models`; `/metrics` (else the busy slots of `/slots`)."""
        props = await self._get_json(f"{url}/props")
        catalog = openai_models(await self._get_json(f"{url}/v1/models"))
        load = await self.load(url)
        if load is None or load.requests_processing is None:
            with contextlib.suppress(httpx.HTTPError, ValueError):
                busy = busy_slots(await self._get_json(f"{url}/slots"))
                if busy is not None:
                    load = (load or BackendLoad()).model_copy(
                        update={"requests_processing": float(busy)}
                    )
        return catalog, llama_cpp_loaded(props, catalog), load

    async def openai(self, url: str, identity: Identity) -> Models:
        """The `/v1/models` read when the server was found; `/metrics` (vLLM)."""
        catalog = openai_models(identity.models_body)
        return catalog, served_as_loaded(catalog), await self.load(url)

    async def _get_json(self, url: str) -> Any:
        reply = await self.http_client.get(url, timeout=READ_TIMEOUT_SECONDS)
        reply.raise_for_status()
        return reply.json()

    async def load(self, url: str) -> BackendLoad | None:
        """The server's `/metrics` read into a load; None where it has none or it is too
        large."""
        refused = self._metrics_refused[url]
        if refused and refused % self.ask_again_polls:
            self._metrics_refused[url] += 1
            return None
        try:
            text = await self._metrics_text(url)
        except httpx.HTTPError as error:
            log.debug("no /metrics at %s: %s", redact_url(url), redact_text(repr(error)))
            text = None
        try:
            previous = self._readings.get(url)
            reading = None if text is None else read_load(text, time.monotonic(), previous)
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
            "GET", f"{url}/metrics", timeout=READ_TIMEOUT_SECONDS
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
