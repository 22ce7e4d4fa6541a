"""`python -m ollamon_probe`: the Ollama proxy and watcher, until SIGTERM or SIGINT."""

from __future__ import annotations

import logging

import uvloop  # from uvicorn[standard]: the proxy's budget is small, uvloop halves the loop's cost

from ollamon_core.events import ServiceName
from ollamon_core.runtime import run_service
from ollamon_probe.service import running_probe
from ollamon_probe.settings import ProbeSettings

if __name__ == "__main__":
    # httpx logs every request at INFO: noise, and a cost on the proxy's hot path.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    run_service(ServiceName.PROBE, ProbeSettings, running_probe, loop_factory=uvloop.new_event_loop)
