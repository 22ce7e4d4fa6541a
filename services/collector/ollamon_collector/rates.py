"""Rates between two snapshots of cumulative byte counters (disk MB/s, network Mbps).

Counters are kept per device (per NIC, or the disk total), so a NIC that appears or
vanishes between two samples does not turn into a spike: a device without a previous
value, or whose counter went down (reset by a driver reload, an interface restart, a
disk removed from the total), contributes nothing for that one interval and counts again
from its new value on the next.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

BYTES_PER_MEGABYTE = 1_000_000
BITS_PER_BYTE = 8


@dataclass(frozen=True)
class IoCounters:
    """Cumulative byte counters of the host at one moment.

    Attributes:
        monotonic_seconds: when they were read (`time.monotonic()`).
        disk_read_bytes: bytes read, per disk key.
        disk_write_bytes: bytes written, per disk key.
        network_rx_bytes: bytes received, per NIC.
        network_tx_bytes: bytes sent, per NIC.
    """

    monotonic_seconds: float
    disk_read_bytes: Mapping[str, int] = field(default_factory=dict)
    disk_write_bytes: Mapping[str, int] = field(default_factory=dict)
    network_rx_bytes: Mapping[str, int] = field(default_factory=dict)
    network_tx_bytes: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class IoRates:
    """Disk rates in megabytes (10^6 bytes) per second, network in megabits per second."""

    disk_read_mbps: float | None = None
    disk_write_mbps: float | None = None
    network_rx_mbps: float | None = None
    network_tx_mbps: float | None = None

    @property
    def network_total_mbps(self) -> float:
        """Received plus sent, 0.0 where unknown (the seed's `network_io_mbps`)."""
        return (self.network_rx_mbps or 0.0) + (self.network_tx_mbps or 0.0)


def bytes_per_second(
    previous: Mapping[str, int], current: Mapping[str, int], elapsed_seconds: float
) -> float | None:
    """Sum of per-device byte rates between two snapshots.

    Returns None when no device has a usable pair of values (first sample, every counter
    reset, or no time elapsed).
    """
    if elapsed_seconds <= 0:
        return None
    total_bytes = 0
    usable = False
    for key, value in current.items():
        before = previous.get(key)
        if before is None or value < before:
            continue  # new device or counter reset: no rate for this interval
        total_bytes += value - before
        usable = True
    return total_bytes / elapsed_seconds if usable else None


def io_rates(previous: IoCounters | None, current: IoCounters) -> IoRates:
    """Disk MB/s and network Mbps between two counter snapshots (all None without a previous)."""
    if previous is None:
        return IoRates()
    elapsed = current.monotonic_seconds - previous.monotonic_seconds

    def scaled(before: Mapping[str, int], after: Mapping[str, int], factor: float) -> float | None:
        rate = bytes_per_second(before, after, elapsed)
        return None if rate is None else rate * factor / BYTES_PER_MEGABYTE

    return IoRates(
        disk_read_mbps=scaled(previous.disk_read_bytes, current.disk_read_bytes, 1),
        disk_write_mbps=scaled(previous.disk_write_bytes, current.disk_write_bytes, 1),
        network_rx_mbps=scaled(previous.network_rx_bytes, current.network_rx_bytes, BITS_PER_BYTE),
        network_tx_mbps=scaled(previous.network_tx_bytes, current.network_tx_bytes, BITS_PER_BYTE),
    )
