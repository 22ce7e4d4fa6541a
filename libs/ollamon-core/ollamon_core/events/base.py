"""The base of every event: frozen, strict, timestamped, deduplicable."""

from __future__ import annotations

import socket
import uuid
from datetime import UTC, datetime
from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from ollamon_core.events.limits import MAX_HOST_CHARS


def utc_now() -> datetime:
    """Return the current time as an aware UTC datetime."""
    return datetime.now(UTC)


def new_event_id() -> str:
    """Return a fresh, globally unique event id (used as the JetStream message id)."""
    return uuid.uuid4().hex


def default_host_label() -> str:
    """Return this machine's host name, the default host label of every event."""
    return socket.gethostname()


class FrozenModel(BaseModel):
    """A frozen pydantic model that rejects unknown fields."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class Event(FrozenModel):
    """Fields every published event carries.

    `event_id` lets storage and JetStream drop duplicates; `host` is the label of the
    machine the event is about (not necessarily the one that published it).
    """

    event_id: str = Field(default_factory=new_event_id, min_length=1, max_length=64)
    timestamp: AwareDatetime = Field(default_factory=utc_now)
    host: str = Field(default_factory=default_host_label, min_length=1, max_length=MAX_HOST_CHARS)


class Severity(StrEnum):
    """Alert severity, ordered from least to most urgent."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        """Return 0 for low up to 3 for critical."""
        return list(Severity).index(self)


class ServiceName(StrEnum):
    """The ollamon services, and the command line (which sends requests only)."""

    COLLECTOR = "collector"
    PROBE = "probe"
    ALERTING = "alerting"
    STORAGE = "storage"
    GATEWAY = "gateway"
    NOTIFIER = "notifier"
    CLI = "cli"
