"""Dead letters: a message a service could not use is counted and republished, unchanged,
on `ollamon.deadletter.<service>` with the reason in headers (the dead-letter stream keeps
it), so bad input never reaches a handler and never crashes a service."""

from __future__ import annotations

import logging
from collections import Counter

import nats.errors
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg

from ollamon_core import subjects
from ollamon_core.bus.wire import ERROR_HEADER, ORIGINAL_SUBJECT_HEADER, TRUNCATED_HEADER
from ollamon_core.events import ServiceName

log = logging.getLogger(__name__)

MAX_ERROR_HEADER_CHARS = 512


class DeadLetters:
    """Where one service's unusable messages go."""

    def __init__(self, nc: NatsClient, service: ServiceName, counters: Counter[str]) -> None:
        self.nc = nc
        self.subject = subjects.deadletter_subject(service)
        self.counters = counters

    async def send(self, msg: Msg, reason: str) -> None:
        """Count `msg` as invalid and republish it with `reason` (never raises)."""
        self.counters["invalid_messages"] += 1
        log.warning("dead-lettering message on %s: %s", msg.subject, reason[:200])
        headers = {
            ORIGINAL_SUBJECT_HEADER: msg.subject,
            ERROR_HEADER: " ".join(reason.split())[:MAX_ERROR_HEADER_CHARS],
        }
        data = msg.data
        # The server counts headers in max_payload (nats-py checks only the data) and a
        # violation closes the connection for good: cut what would not fit, and say so.
        if len(data) + header_bytes(headers) > self.nc.max_payload:
            headers[TRUNCATED_HEADER] = str(len(data))
            data = data[: max(0, self.nc.max_payload - header_bytes(headers))]
        try:
            await self.nc.publish(self.subject, data, headers=headers)
            self.counters["dead_lettered"] += 1
        except nats.errors.Error as error:
            log.error("could not dead-letter a message: %r", error)


def header_bytes(headers: dict[str, str]) -> int:
    """Size of a NATS header block (`NATS/1.0`, one line per header, a blank line)."""
    return len(b"NATS/1.0\r\n\r\n") + sum(
        len(name.encode()) + len(value.encode()) + 4 for name, value in headers.items()
    )
