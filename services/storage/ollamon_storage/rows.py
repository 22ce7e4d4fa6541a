"""How each event becomes a row: the columns that queries filter on, plus the full JSON.

Pure code: `to_row` maps a validated event and its JSON to (table, row), and `group_rows`
sorts a batch into per-table lists ready for `executemany`, dropping repeats of an
`event_id` within the batch. Every URL in a stored row is redacted (`redact_text`): the probe
publishes none with credentials, and one that did anyway is not kept.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ollamon_core import events
from ollamon_core.events import (
    BenchmarkRun,
    Event,
    ModelLifecycleEvent,
    ModelScore,
    OllamaHealth,
    OllamaModelMetrics,
    OllamaModelsSnapshot,
    OllamaPerformanceAlert,
    OllamaSystemMetrics,
)
from ollamon_core.redaction import redact_text, redact_url
from ollamon_storage import benchmark_store, delivery_log
from ollamon_storage.decoding import compact_json, model_of
from ollamon_storage.rollups import RequestSample

INSERT_SQL: dict[str, str] = {
    "requests": (
        "INSERT OR IGNORE INTO requests (event_id, ts_ms, host, model_name, response_time_ms, "
        "time_to_first_token_ms, tokens_per_second, load_duration_ms, error_occurred, "
        "cold_start, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    ),
    "system_samples": (
        "INSERT OR IGNORE INTO system_samples (event_id, ts_ms, host, data) VALUES (?, ?, ?, ?)"
    ),
    "alerts": (
        "INSERT OR IGNORE INTO alerts (event_id, ts_ms, host, severity, state, fingerprint, "
        "model_name, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
    ),
    "scores": (
        "INSERT OR IGNORE INTO scores (event_id, ts_ms, host, model_name, score, data) "
        "VALUES (?, ?, ?, ?, ?, ?)"
    ),
    "lifecycle": (
        "INSERT OR IGNORE INTO lifecycle (event_id, ts_ms, host, model_name, change, data) "
        "VALUES (?, ?, ?, ?, ?, ?)"
    ),
    delivery_log.TABLE: delivery_log.INSERT_SQL,
    benchmark_store.RUNS_TABLE: benchmark_store.INSERT_RUN_SQL,
    benchmark_store.RESULTS_TABLE: benchmark_store.INSERT_RESULT_SQL,
    "alert_audit": (
        "INSERT OR IGNORE INTO alert_audit (event_id, ts_ms, host, action, author, data) "
        "VALUES (?, ?, ?, ?, ?, ?)"
    ),
    "health": (
        "INSERT OR IGNORE INTO health (event_id, ts_ms, host, up, data) VALUES (?, ?, ?, ?, ?)"
    ),
}

# Tables whose `data` is stored without the fields that hold their default (`stored_json`):
# requests and system samples grow with traffic and time, and writing a request's ~1,100
# bytes of JSON was half of SQLite's cost per event. They travel compact on the bus already
# (`ollamon_core.bus.wire`), so the message is stored as it came. Readers validate rows
# with the model, which fills the fields in again; exports put them back (`export.py`).
COMPACT_TABLES = frozenset({"requests", "system_samples"})
_COMPACT_MODELS = (OllamaModelMetrics, OllamaSystemMetrics)
# In a message sent whole: `kind` is left out only of the compact form (it holds its
# default, the pattern allows no other), and a quote in a string value is escaped.
_WHOLE_MARK = b'"kind":'

# Latest-only tables: a row replaces the stored one only when it is not older.
UPSERT_ALERT_STATE_SQL = (
    "INSERT INTO alert_state (fingerprint, ts_ms, state, severity, data) VALUES (?, ?, ?, ?, ?) "
    "ON CONFLICT (fingerprint) DO UPDATE SET ts_ms = excluded.ts_ms, state = excluded.state, "
    "severity = excluded.severity, data = excluded.data WHERE excluded.ts_ms >= alert_state.ts_ms"
)
UPSERT_SNAPSHOT_SQL = (
    "INSERT INTO model_snapshots (host, ollama_url, ts_ms, event_id, data) VALUES (?, ?, ?, ?, ?) "
    "ON CONFLICT (host, ollama_url) DO UPDATE SET ts_ms = excluded.ts_ms, "
    "event_id = excluded.event_id, data = excluded.data "
    "WHERE excluded.ts_ms >= model_snapshots.ts_ms"
)
UPSERT_HOST_SQL = (
    "INSERT INTO hosts (host, first_seen_ms, last_seen_ms) VALUES (?, ?, ?) "
    "ON CONFLICT (host) DO UPDATE SET "
    "first_seen_ms = MIN(hosts.first_seen_ms, excluded.first_seen_ms), "
    "last_seen_ms = MAX(hosts.last_seen_ms, excluded.last_seen_ms)"
)
# The events that describe a monitored host (a service's own records, such as audit or
# delivery events, do not make its host label a host of the fleet). A benchmark run is the
# probe's measurement of its host, so its host is known to the benchmarks query.
HOST_EVENTS = (
    BenchmarkRun,
    OllamaModelMetrics,
    OllamaSystemMetrics,
    OllamaPerformanceAlert,
    ModelScore,
    ModelLifecycleEvent,
    OllamaHealth,
    OllamaModelsSnapshot,
)


def timestamp_ms(moment: datetime) -> int:
    """Epoch milliseconds of an aware datetime."""
    return int(moment.timestamp() * 1000)


def alert_fingerprint(alert: OllamaPerformanceAlert) -> str:
    """The alert's fingerprint, or one made from what identifies it when it has none."""
    if alert.fingerprint:
        return alert.fingerprint
    return f"{alert.alert_type}|{alert.host}|{alert.model_name or ''}"


def request_sample(event: OllamaModelMetrics, ts_ms: int | None = None) -> RequestSample:
    """What the rollups need from one request event (`ts_ms` if already computed)."""
    return RequestSample(
        timestamp_ms=timestamp_ms(event.timestamp) if ts_ms is None else ts_ms,
        host=event.host,
        model_name=event.model_name,
        response_time_ms=event.response_time_ms,
        error_occurred=event.error_occurred,
        time_to_first_token_ms=event.time_to_first_token_ms,
        tokens_per_second=event.tokens_per_second,
        load_duration_ms=event.load_duration_ms,
        cold_start=bool(event.cold_start),
        queue_wait_ms=event.queue_wait_ms,
        cold_load_ms=event.cold_load_ms,
    )


@dataclass
class BatchRows:
    """A batch sorted by table; requests also keep their rollup samples by event id."""

    inserts: dict[str, list[tuple[Any, ...]]] = field(default_factory=dict)
    samples: dict[str, RequestSample] = field(default_factory=dict)
    alert_states: list[tuple[Any, ...]] = field(default_factory=list)
    snapshots: list[tuple[Any, ...]] = field(default_factory=list)
    hosts: dict[str, tuple[int, int]] = field(default_factory=dict)
    skipped: int = 0

    def add(self, table: str, row: tuple[Any, ...]) -> None:
        """Queue one row for `table`."""
        self.inserts.setdefault(table, []).append(row)

    def see_host(self, host: str, ts_ms: int) -> None:
        """Widen the host's first and last event of this batch to `ts_ms`."""
        seen = self.hosts.get(host)
        self.hosts[host] = (
            (ts_ms, ts_ms) if seen is None else (min(seen[0], ts_ms), max(seen[1], ts_ms))
        )

    def host_rows(self) -> list[tuple[str, int, int]]:
        """Rows for `UPSERT_HOST_SQL`."""
        return [(host, first, last) for host, (first, last) in self.hosts.items()]


def stored_json(event: Any, data: bytes) -> str:
    """The JSON a row keeps for an event: compact for `COMPACT_TABLES` (the message as it
    came when it came compact, the bus's form; else re-encoded), else as it came."""
    if model_of(event) in _COMPACT_MODELS and _WHOLE_MARK in data:
        return compact_json(event, data)
    return data.decode()


def add_event(batch: BatchRows, event: Any, data: str) -> None:
    """Sort one validated event (and its JSON, URLs redacted) into the batch.

    `event` is an event model or its msgspec mirror (`decoding.py`): only its attributes are
    read, and `model_of` says which model it is.
    """
    model = model_of(event)
    ts = timestamp_ms(event.timestamp)
    data = redact_text(data)  # no regex scan unless the JSON has `://` and one of `@ ? #`
    if issubclass(model, HOST_EVENTS):
        batch.see_host(event.host, ts)
    match model:
        case events.OllamaModelMetrics:
            if event.event_id in batch.samples:
                return
            sample = request_sample(event, ts)
            batch.samples[event.event_id] = sample
            batch.add(
                "requests",
                (
                    event.event_id,
                    ts,
                    event.host,
                    event.model_name,
                    event.response_time_ms,
                    event.time_to_first_token_ms,
                    event.tokens_per_second,
                    event.load_duration_ms,
                    int(event.error_occurred),
                    int(bool(event.cold_start)),
                    data,
                ),
            )
        case events.OllamaSystemMetrics:
            batch.add("system_samples", (event.event_id, ts, event.host, data))
        case events.OllamaPerformanceAlert:
            fingerprint = alert_fingerprint(event)
            batch.add(
                "alerts",
                (
                    event.event_id,
                    ts,
                    event.host,
                    event.severity.value,
                    event.state.value,
                    fingerprint,
                    event.model_name,
                    data,
                ),
            )
            batch.alert_states.append(
                (fingerprint, ts, event.state.value, event.severity.value, data)
            )
        case events.ModelScore:
            batch.add(
                "scores", (event.event_id, ts, event.host, event.model_name, event.score, data)
            )
        case events.ModelLifecycleEvent:
            batch.add(
                "lifecycle",
                (event.event_id, ts, event.host, event.model_name, event.change.value, data),
            )
        case events.AlertAudit:
            batch.add(
                "alert_audit",
                (event.event_id, ts, event.host, event.action.value, event.author, data),
            )
        case events.NotificationDelivery:
            batch.add(delivery_log.TABLE, delivery_log.row(event, ts, data))
        case events.OllamaHealth:
            batch.add("health", (event.event_id, ts, event.host, int(event.up), data))
        case events.OllamaModelsSnapshot:
            url = redact_url(event.ollama_url)
            batch.snapshots.append((event.host, url, ts, event.event_id, data))
        case _:
            add_other(batch, event, data)


def add_other(batch: BatchRows, event: Any, data: str) -> None:
    """Benchmark runs (a run row and its results); any other kind is skipped."""
    if issubclass(model_of(event), BenchmarkRun):
        finished = timestamp_ms(event.finished_at)
        batch.add(benchmark_store.RUNS_TABLE, benchmark_store.run_row(event, finished, data))
        for row in benchmark_store.result_rows(event, finished):
            batch.add(benchmark_store.RESULTS_TABLE, row)
    else:
        batch.skipped += 1  # not a stored kind (heartbeats and controls are live only)


def group_rows(events: Iterable[tuple[Event, str]]) -> BatchRows:
    """Sort a batch of (event, JSON) into rows per table."""
    batch = BatchRows()
    for event, data in events:
        add_event(batch, event, data)
    return batch
