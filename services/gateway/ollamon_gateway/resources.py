"""What one gateway holds: settings, the bus, live state, the SSE fan-out, the exporter."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from litestar.di import Dependency
from nats.aio.msg import Msg
from pydantic import BaseModel, ValidationError

from ollamon_core.bus import Bus
from ollamon_core.bus.wire import COMPACT_MODELS, encode_whole
from ollamon_core.events import (
    Event,
    Heartbeat,
    MonitoringControl,
    OllamaHealth,
    OllamaModelsSnapshot,
)
from ollamon_core.redaction import redact_bytes
from ollamon_core.subjects import QueryRoute
from ollamon_gateway.api_models import NatsStatus, StreamStatus
from ollamon_gateway.exporter import MetricsExporter
from ollamon_gateway.fanout import Fanout
from ollamon_gateway.live_state import LiveState
from ollamon_gateway.problems import bad_request
from ollamon_gateway.settings import GatewaySettings

# Event kinds forwarded to stream clients, by the SSE `event:` type they get.
STREAM_TYPES: dict[str, str] = {
    "request": "request",
    "system": "system",
    "alert": "alert",
    "score": "score",
    "lifecycle": "lifecycle",
    "health": "health",
    "models": "models",
    "heartbeat": "heartbeat",
    "monitoring_control": "monitoring",
    "alert_audit": "audit",
    "notification_delivery": "notification",
    "benchmark_progress": "benchmark_progress",
    "benchmark_run": "benchmark_run",
}

ModelT = TypeVar("ModelT", bound=BaseModel)
RequestT = TypeVar("RequestT", bound=BaseModel)
ReplyT = TypeVar("ReplyT", bound=BaseModel)


def _whole_json(event: BaseModel) -> bytes:
    return redact_bytes(encode_whole(event))


def stream_type(event: BaseModel) -> str | None:
    """The SSE event type of an event, or None when stream clients do not get it."""
    return STREAM_TYPES.get(str(getattr(event, "kind", "")))


def build_query(model: type[ModelT], **fields: Any) -> ModelT:
    """Build a typed query from HTTP input; a 400 with the reason when it does not validate."""
    try:
        return model(**fields)
    except ValidationError as error:
        reasons = "; ".join(
            f"{'.'.join(str(part) for part in item['loc'])}: {item['msg']}"
            for item in error.errors()[:5]
        )
        raise bad_request(reasons) from error


@dataclass
class Gateway:
    """The resources of one gateway app, shared by its handlers through dependency injection."""

    settings: GatewaySettings
    bus: Bus
    live: LiveState
    fanout: Fanout
    exporter: MetricsExporter

    @classmethod
    def build(cls, settings: GatewaySettings, bus: Bus) -> Gateway:
        """Fresh live state, fan-out and exporter for one app."""
        return cls(
            settings=settings,
            bus=bus,
            live=LiveState(
                default_interval_seconds=settings.monitoring_interval_seconds,
                heartbeat_interval_seconds=settings.heartbeat_interval_seconds,
            ),
            fanout=Fanout(
                buffer_size=settings.sse_buffer_size,
                client_queue_size=settings.sse_client_queue_size,
            ),
            exporter=MetricsExporter(),
        )

    async def on_event(self, event: Event, msg: Msg) -> None:
        """Handle one live event from the bus: state, metrics, then stream clients.

        The event model holds redacted URLs already (`PublicUrl`); the message is forwarded
        as sent unless it holds a URL with credentials (`redact_bytes`), and a compact one
        (requests, system samples: `ollamon_core.bus.wire`) goes out whole.
        """
        match event:
            case Heartbeat():
                self.live.apply_heartbeat(event)
            case OllamaHealth():
                self.live.apply_health(event)
            case OllamaModelsSnapshot():
                self.live.apply_models(event)
            case MonitoringControl():
                self.live.apply_control(event)
        self.exporter.observe(event)
        event_type = stream_type(event)
        if event_type is None:
            return
        if isinstance(event, COMPACT_MODELS):
            # Compact on the bus (the wire rule): stream clients get every field, encoded
            # only when one needs the frame.
            self.fanout.publish(event_type, functools.partial(_whole_json, event))
        else:  # the message is the model's whole JSON already: forwarded as sent
            self.fanout.publish(event_type, redact_bytes(msg.data))

    async def request(
        self, route: QueryRoute[RequestT, ReplyT], query: RequestT, *, long: bool = False
    ) -> ReplyT:
        """A typed request with the configured timeout (the longer one for exports)."""
        timeout = (
            self.settings.export_timeout_seconds
            if long
            else self.settings.nats_request_timeout_seconds
        )
        return await self.bus.request(route, query, timeout=timeout)

    def nats_status(self) -> NatsStatus:
        """The gateway's connection to NATS."""
        nc = self.bus.nc
        url = nc.connected_url
        return NatsStatus(
            connected=nc.is_connected,
            url=f"{url.scheme}://{url.hostname}:{url.port}" if url else None,
            reconnects=int(self.bus.counters["reconnects"]),
            disconnects=int(self.bus.counters["disconnects"]),
        )

    def stream_status(self) -> StreamStatus:
        """The fan-out's clients and counters."""
        return StreamStatus(
            clients=self.fanout.client_count,
            frames_published=self.fanout.frames_published,
            frames_dropped=self.fanout.frames_dropped,
            last_event_id=self.fanout.last_sequence,
        )


# How handlers ask for the gateway (injected by name).
GatewayDep = Annotated[Gateway, Dependency(kind="named")]
