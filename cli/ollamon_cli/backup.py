"""`ollamon backup`: ask storage over NATS for a consistent online copy."""

from __future__ import annotations

from ollamon_core import subjects
from ollamon_core.bus import Bus, NatsLogin
from ollamon_core.events import ServiceName
from ollamon_core.events.queries import BackupReply, BackupRequest


async def request_backup(
    nats_url: str, timeout_seconds: float = 120.0, *, login: NatsLogin | None = None
) -> str:
    """Return a line saying where the backup went."""
    bus = await Bus.connect(nats_url, ServiceName.CLI, login=login)
    try:
        reply: BackupReply = await bus.request(
            subjects.QUERY_BACKUP, BackupRequest(), timeout=timeout_seconds
        )
    finally:
        await bus.close()
    return f"backup written to {reply.path} ({reply.size_bytes} bytes)"
