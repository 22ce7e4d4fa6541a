"""Which service wrote a log line, when several share one process.

Each hosted service's task sets `current_service`; asyncio copies the context into every
task started from it (its subscriptions' callbacks, its servers' connections, its
background tasks), so a filter on the handler can put the right name on each line.
"""

from __future__ import annotations

import logging
import sys
from contextvars import ContextVar

from ollamon_core.redaction import install_log_redaction

current_service: ContextVar[str | None] = ContextVar("ollamon_service", default=None)

LOG_FORMAT = "%(asctime)s %(service)s %(levelname)s %(name)s: %(message)s"


class ServiceNameFilter(logging.Filter):
    """Sets `record.service`: the service of the task that logged, else `default`."""

    def __init__(self, default: str) -> None:
        super().__init__()
        self.default = default

    def filter(self, record: logging.LogRecord) -> bool:
        record.service = current_service.get() or self.default
        return True


def configure_shared_logging(level: str, default: str) -> None:
    """Log lines to stderr, each prefixed with the service that wrote it (`default` for the
    process's own lines), URLs redacted as in `configure_logging`."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    handler.addFilter(ServiceNameFilter(default))
    logging.basicConfig(level=level.upper(), handlers=[handler])
    install_log_redaction()
