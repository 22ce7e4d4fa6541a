"""A small typed wrapper over nats-py, one module per job.

- `wire`: JSON bodies, header names, the model of each subject
- `connection`: connecting, reconnecting forever, counting disconnects
- `outbox`: publishing live and persistently, and the outbox that retries across outages
- `spool`: the bounded disk spool where the outbox keeps what NATS did not acknowledge
- `dead_letters`: where messages that do not validate go (counted, never fatal)
- `subscriptions`: core subscriptions with validated models
- `consumers`: durable JetStream consumers, the ack policy named at every call
- `requests`: typed request/reply from `subjects.QueryRoute`
- `streams`: the event and dead-letter streams
- `client`: `Bus`, one service's connection composing all of the above
"""

from ollamon_core.bus.client import Bus
from ollamon_core.bus.connection import ConnectionEvents, NatsLogin
from ollamon_core.bus.consumers import AckMode, ConsumerMismatchError
from ollamon_core.bus.dead_letters import MAX_ERROR_HEADER_CHARS
from ollamon_core.bus.outbox import OUTBOX_WORKERS
from ollamon_core.bus.requests import (
    QueryFailedError,
    QueryHandler,
    ServiceUnavailableError,
)
from ollamon_core.bus.spool import Spool, SpoolConfig
from ollamon_core.bus.subscriptions import EventHandler
from ollamon_core.bus.wire import (
    ERROR_HEADER,
    MSG_ID_HEADER,
    ORIGINAL_SUBJECT_HEADER,
    TRUNCATED_HEADER,
    encode,
)

__all__ = [
    "ERROR_HEADER",
    "MAX_ERROR_HEADER_CHARS",
    "MSG_ID_HEADER",
    "ORIGINAL_SUBJECT_HEADER",
    "OUTBOX_WORKERS",
    "TRUNCATED_HEADER",
    "AckMode",
    "Bus",
    "ConnectionEvents",
    "ConsumerMismatchError",
    "EventHandler",
    "NatsLogin",
    "QueryFailedError",
    "QueryHandler",
    "ServiceUnavailableError",
    "Spool",
    "SpoolConfig",
    "encode",
]
