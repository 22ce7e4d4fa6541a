"""`python -m ollamon_storage`: JetStream durable consumer into SQLite, history queries."""

from __future__ import annotations

import gc

from ollamon_core.events import ServiceName
from ollamon_core.runtime import run_service
from ollamon_storage.service import running_storage
from ollamon_storage.settings import StorageSettings

# Ingest allocates a few objects per message and keeps up to a consumer's worth of them
# alive; with Python's default gen0 threshold (700) the collector took ~15 % of its CPU.
GC_THRESHOLDS = (20_000, 20, 10)


def tune_garbage_collector() -> None:
    """Collect less often, and never rescan what the imports created (process-wide)."""
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


if __name__ == "__main__":
    tune_garbage_collector()
    run_service(ServiceName.STORAGE, StorageSettings, running_storage)
