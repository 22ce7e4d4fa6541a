"""The disk spool (`ollamon_core.bus.spool`): order, bound, drop policy, reopen, file modes."""

from __future__ import annotations

import asyncio
import stat
from collections import Counter
from pathlib import Path

import pytest

from ollamon_core.bus.spool import ROW_OVERHEAD_BYTES, SPOOL_FILE, Spool, SpoolConfig
from ollamon_core.bus.wire import encode
from ollamon_core.events import OllamaModelMetrics, OllamaSystemMetrics


def request(number: int) -> OllamaModelMetrics:
    return OllamaModelMetrics(model_name="m", response_time_ms=number)


def system(number: int) -> OllamaSystemMetrics:
    return OllamaSystemMetrics(
        cpu_usage_percent=number % 100,
        memory_usage_percent=1,
        memory_available_gb=1,
        disk_usage_percent=1,
    )


def row_size(event: OllamaModelMetrics | OllamaSystemMetrics) -> int:
    return len(encode(event)) + ROW_OVERHEAD_BYTES


async def test_events_come_back_in_the_order_they_were_spooled(tmp_path: Path) -> None:
    counters: Counter[str] = Counter()
    spool = await Spool.open(SpoolConfig(tmp_path / "spool"), counters)
    events = [request(n) for n in range(10)] + [system(1), request(10)]
    await spool.append(events[:5])
    await spool.append(events[5:])
    first = await spool.oldest(7)
    assert [row.event_id for row in first] == [event.event_id for event in events[:7]]
    assert first[0].body == encode(events[0])
    await spool.remove([row.seq for row in first])
    rest = await spool.oldest(100)
    assert [row.event_id for row in rest] == [event.event_id for event in events[7:]]
    assert counters["spooled"] == 12 and counters["spool_replayed"] == 7
    assert counters["spool_events"] == 5 == spool.events
    await spool.close()


async def test_what_was_spooled_survives_closing_and_reopening(tmp_path: Path) -> None:
    config = SpoolConfig(tmp_path / "spool")
    events = [request(n) for n in range(3)]
    first = await Spool.open(config, Counter())
    await first.append(events)
    await first.close()
    counters: Counter[str] = Counter()
    again = await Spool.open(config, counters)
    assert [row.event_id for row in await again.oldest(10)] == [e.event_id for e in events]
    assert counters["spool_events"] == 3
    assert counters["spool_bytes"] == sum(row_size(e) for e in events) == again.size_bytes
    assert again.oldest_age_seconds() > 0
    assert again.holding.is_set()
    await again.close()


async def test_the_folder_is_0700_and_the_files_0600(tmp_path: Path) -> None:
    spool = await Spool.open(SpoolConfig(tmp_path / "state" / "spool"), Counter())
    await spool.append([request(1)])
    folder = tmp_path / "state" / "spool"

    def modes() -> dict[str, int]:
        found = {path.name: stat.S_IMODE(path.stat().st_mode) for path in folder.iterdir()}
        return {".": stat.S_IMODE(folder.stat().st_mode), **found}

    found = await asyncio.to_thread(modes)
    await spool.close()
    assert found.pop(".") == 0o700
    assert {SPOOL_FILE, f"{SPOOL_FILE}-wal"} <= set(found)
    assert set(found.values()) == {0o600}, found


async def test_when_full_the_oldest_system_samples_go_first_and_each_drop_is_counted(
    tmp_path: Path,
) -> None:
    requests = [request(n) for n in range(4)]
    samples = [system(n) for n in range(4)]
    bound = sum(row_size(e) for e in requests) + sum(row_size(e) for e in samples[:2])
    counters: Counter[str] = Counter()
    spool = await Spool.open(SpoolConfig(tmp_path / "spool", max_bytes=bound), counters)
    await spool.append([samples[0], requests[0], samples[1], requests[1]])
    await spool.append([samples[2], requests[2], samples[3], requests[3]])
    kept = [row.event_id for row in await spool.oldest(100)]
    assert kept == [
        e.event_id for e in (requests[0], requests[1], samples[2], requests[2], samples[3])
    ] + [requests[3].event_id]
    assert counters["spool_dropped"] == 2
    assert counters["spool_dropped_requests"] == 0
    assert spool.size_bytes <= bound
    await spool.close()


async def test_a_system_sample_never_pushes_out_a_request(tmp_path: Path) -> None:
    requests = [request(n) for n in range(3)]
    bound = sum(row_size(e) for e in requests)
    counters: Counter[str] = Counter()
    spool = await Spool.open(SpoolConfig(tmp_path / "spool", max_bytes=bound), counters)
    await spool.append(requests)
    await spool.append([system(1)])
    assert [row.event_id for row in await spool.oldest(10)] == [e.event_id for e in requests]
    assert counters["spool_dropped"] == 1
    assert counters["spool_dropped_requests"] == 0
    newest = request(9)
    await spool.append([newest])  # requests go last: the oldest request makes room
    kept = [row.event_id for row in await spool.oldest(10)]
    assert kept == [e.event_id for e in (*requests[1:], newest)]
    assert counters["spool_dropped_requests"] == 1
    assert spool.events == 3
    await spool.close()


async def test_an_unreadable_spool_file_is_kept_aside_and_a_new_one_started(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "spool"
    await asyncio.to_thread(folder.mkdir)
    await asyncio.to_thread((folder / SPOOL_FILE).write_bytes, b"not a database" * 100)
    spool = await Spool.open(SpoolConfig(folder), Counter())
    await spool.append([request(1)])
    assert spool.events == 1
    await spool.close()
    names = await asyncio.to_thread(lambda: sorted(path.name for path in folder.iterdir()))
    assert any(name.startswith(f"{SPOOL_FILE}.unreadable-") for name in names), names


async def test_a_full_spool_logs_its_first_drop_and_then_one_line_per_thousand(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    bound = row_size(request(0))
    counters: Counter[str] = Counter()
    spool = await Spool.open(SpoolConfig(tmp_path / "spool", max_bytes=bound), counters)
    await spool.append([request(n) for n in range(1_002)])
    await spool.close()
    assert counters["spool_dropped"] == 1_001 == counters["spool_dropped_requests"]
    lines = [r.getMessage() for r in caplog.records if "spool full" in r.getMessage()]
    assert len(lines) == 2, lines
