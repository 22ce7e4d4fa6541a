"""Apple silicon: the GPU has no memory of its own, it shares the host's unified memory.

What can be said honestly without root is that memory: one `GpuSample` whose used and total
memory are psutil's figures for the whole machine (Metal allocates Ollama's models there,
which is why Ollama's `/api/ps` reports them all as VRAM), named as unified memory so nobody
adds it to the host's. GPU utilisation, temperature and power stay empty: macOS gives them
only to root (`powermetrics`) or through private IOKit interfaces; the detection reason says
so.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

import psutil

from ollamon_core.events import GpuSample

UNIFIED_MEMORY_GPU_NAME = "Apple silicon GPU (unified memory, shared with the CPU)"


class UnifiedMemoryReader:
    """Reports the unified memory as the one GPU's memory.

    Args:
        virtual_memory: psutil's `virtual_memory` (tests pass their own figures).
    """

    gpu_count = 1

    def __init__(self, virtual_memory: Callable[[], Any] = psutil.virtual_memory) -> None:
        self._virtual_memory = virtual_memory

    def read(self, ollama_pids: Collection[int] = ()) -> list[GpuSample]:
        """One sample: memory used and installed; every GPU-only figure empty."""
        memory = self._virtual_memory()
        return [
            GpuSample(
                index=0,
                name=UNIFIED_MEMORY_GPU_NAME,
                memory_used_bytes=int(memory.used),
                memory_total_bytes=int(memory.total),
            )
        ]

    def close(self) -> None:
        """Nothing to release."""
