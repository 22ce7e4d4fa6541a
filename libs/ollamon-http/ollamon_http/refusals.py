"""What an HTTP server refused, counted and logged without flooding the log.

Each refusal adds one to its counter (the service's heartbeat counters). The first one is
logged with its client and reason; the ones that follow within `interval_seconds` are held
and summed up in one line at the end of that interval. A server that refuses nothing for an
interval logs the next refusal at once again.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from enum import StrEnum

log = logging.getLogger(__name__)

SUMMARY_INTERVAL_SECONDS = 60.0


class Refusal(StrEnum):
    """Why a request or connection was refused; the value is its counter's name."""

    MALFORMED = "http_malformed_requests"
    HEAD_TOO_LARGE = "http_oversized_heads"
    HEAD_TIMEOUT = "http_head_timeouts"
    BODY_TIMEOUT = "http_body_timeouts"
    TOO_MANY_CONNECTIONS = "http_refused_connections"
    SHED = "http_shed_connections"
    UNSUPPORTED_UPGRADE = "http_unsupported_upgrades"


_WHAT = {
    Refusal.MALFORMED: "malformed request",
    Refusal.HEAD_TOO_LARGE: "request head too large",
    Refusal.HEAD_TIMEOUT: "request head too slow",
    Refusal.BODY_TIMEOUT: "request body stalled",
    Refusal.TOO_MANY_CONNECTIONS: "connection over the limit",
    Refusal.SHED: "idle connection, for a new one",
    Refusal.UNSUPPORTED_UPGRADE: "unsupported protocol upgrade",
}


class RefusalLog:
    """Counts refusals into `counters` and logs them, the first at once, then summed up."""

    def __init__(
        self,
        server: str,
        counters: Counter[str],
        interval_seconds: float = SUMMARY_INTERVAL_SECONDS,
    ) -> None:
        self.server = server
        self.counters = counters
        self.interval_seconds = interval_seconds
        self._quiet_until = float("-inf")
        self._held: Counter[Refusal] = Counter()
        self._summary: asyncio.TimerHandle | None = None

    def note(self, refusal: Refusal, client: tuple[str, int] | None, detail: str) -> None:
        """Count one refusal; log it, or hold it for the next summary line."""
        self.counters[refusal.value] += 1
        loop = asyncio.get_running_loop()
        now = loop.time()
        if now >= self._quiet_until and not self._held:
            peer = f"{client[0]}:{client[1]}" if client else "a client"
            log.warning(
                "%s refused %s from %s: %s (more are counted, and summed up every %g s)",
                self.server,
                _WHAT[refusal],
                peer,
                detail,
                self.interval_seconds,
            )
            self._quiet_until = now + self.interval_seconds
            return
        self._held[refusal] += 1
        if self._summary is None:
            self._summary = loop.call_at(self._quiet_until, self._sum_up)

    def close(self) -> None:
        """Log what is held now (the server stops)."""
        if self._summary is not None:
            self._summary.cancel()
            self._sum_up()

    def _sum_up(self) -> None:
        self._summary = None
        held, self._held = self._held, Counter()
        if not held:
            return
        counts = ", ".join(f"{count} x {_WHAT[refusal]}" for refusal, count in held.items())
        log.warning("%s also refused, since its last such line: %s", self.server, counts)
        self._quiet_until = asyncio.get_running_loop().time() + self.interval_seconds
