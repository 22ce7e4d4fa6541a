"""Shared by the latency scenarios: time one message at a time end to end, and report p50
and p99 beside a reference path measured in the same run."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from bench.harness import BenchResult
from ollamon_core.stats import percentile


async def measure_latencies_ms(
    indices: range,
    send: Callable[[int], Awaitable[None]],
    arrived: dict[int, asyncio.Event],
    wait_seconds: float,
) -> list[float]:
    """Send each index and wait until it has arrived before the next; milliseconds each."""
    latencies_ms = []
    for index in indices:
        arrived[index] = asyncio.Event()
        started = time.perf_counter()
        await send(index)
        await asyncio.wait_for(arrived[index].wait(), wait_seconds)
        latencies_ms.append((time.perf_counter() - started) * 1000)
    return latencies_ms


def p50_p99_results(
    *,
    scenario: str,
    what: str,
    ours_ms: list[float],
    reference_ms: list[float],
    reference_label: str,
    target_p99_ms: float,
) -> list[BenchResult]:
    """p50 and p99 of `ours_ms` against `reference_ms`; the target applies to p99."""
    results = []
    for label, fraction in (("p50", 0.5), ("p99", 0.99)):
        ours = percentile(ours_ms, fraction) or 0.0
        reference = percentile(reference_ms, fraction) or 0.0
        is_p99 = label == "p99"
        results.append(
            BenchResult(
                scenario=scenario,
                metric=f"{what} {label} (ms)",
                ours=ours,
                unit="ms",
                reference=reference,
                reference_label=f"{reference_label} {label}",
                target=f"<= {target_p99_ms:.0f} ms" if is_p99 else "",
                met=(ours <= target_p99_ms) if is_p99 else None,
                notes={"samples": len(ours_ms), "max_ms": max(ours_ms)},
            )
        )
    return results
