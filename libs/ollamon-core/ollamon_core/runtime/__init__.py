"""The one way a service runs: a lifespan over `service_runtime`, run by `run_service`.

A service is an async context manager, its lifespan (`running_probe(settings)`, ...),
built on `service_runtime`: entering it connects the bus and creates the streams, then the
service opens its resources, subscribes and starts its named background tasks, in order;
leaving it undoes all of that in reverse order, the bus last. A start that fails half way
undoes what it had done. `run_service` runs one lifespan as a process until SIGTERM or
SIGINT; tests and the bench enter the same lifespans in-process.
"""

from ollamon_core.runtime.heartbeat import StateProvider, heartbeat_loop
from ollamon_core.runtime.process import (
    SHUTDOWN_GRACE_SECONDS,
    Lifespan,
    configure_logging,
    run_service,
    run_until_stopped,
    serve_until,
)
from ollamon_core.runtime.service import (
    TASK_STOP_SECONDS,
    BackgroundTaskError,
    ServiceRuntime,
    service_runtime,
)

__all__ = [
    "SHUTDOWN_GRACE_SECONDS",
    "TASK_STOP_SECONDS",
    "BackgroundTaskError",
    "Lifespan",
    "ServiceRuntime",
    "StateProvider",
    "configure_logging",
    "heartbeat_loop",
    "run_service",
    "run_until_stopped",
    "serve_until",
    "service_runtime",
]
