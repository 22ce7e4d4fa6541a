"""`ollamon backup`: ask storage over NATS for a consistent online copy."""

from __future__ import annotations

from ollamon_cli.exits import CommandError
from ollamon_cli.nats_target import NatsTarget, connect
from ollamon_core import subjects
from ollamon_core.bus.requests import QueryFailedError, ServiceUnavailableError, request
from ollamon_core.events.queries import BackupReply, BackupRequest


async def request_backup(target: NatsTarget, timeout_seconds: float = 120.0) -> str:
    """Return a line saying where the backup went.

    Raises:
        CommandError: NATS or storage did not answer, or storage could not make the copy.
    """
    nc = await connect(target)
    try:
        reply: BackupReply = await request(
            nc, subjects.QUERY_BACKUP, BackupRequest(), timeout=timeout_seconds
        )
    except ServiceUnavailableError as error:
        raise CommandError(
            f"storage did not answer on {error.subject} ({error.reason}) at {target.public_url}: "
            "is the stack (`ollamon up`) running there?"
        ) from None
    except QueryFailedError as error:
        raise CommandError(f"storage could not make the backup: {error.error.error}") from None
    finally:
        await nc.drain()
    return f"backup written to {reply.path} ({reply.size_bytes} bytes)"
