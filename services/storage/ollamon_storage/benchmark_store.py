"""Benchmark runs in SQLite: one row per run (the event's JSON) and one per model and case.

Ingest writes them like every event (`INSERT OR IGNORE`: a run is stored once, whether it
comes again with the same `event_id` or under another one with the same `run_id`). The
run row holds the whole `BenchmarkRun`; `benchmark_results` holds the figures of each
(model, case), for finding a model's runs by index and for SQL readers. Retention and the
row cap apply to the runs (`maintenance.py`); a run's results are deleted with it by a
trigger, so none is ever left without its run.
"""

from __future__ import annotations

import sqlite3

from ollamon_core.events import BenchmarkRun

RUNS_TABLE = "benchmark_runs"
RESULTS_TABLE = "benchmark_results"

# Schema version 7 (schema.py).
SCHEMA = """
CREATE TABLE benchmark_runs (
    id INTEGER PRIMARY KEY,
    event_id TEXT NOT NULL UNIQUE,
    run_id TEXT NOT NULL UNIQUE,
    ts_ms INTEGER NOT NULL,
    host TEXT NOT NULL,
    backend TEXT NOT NULL,
    server_version TEXT,
    suite_version TEXT NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX benchmark_runs_by_time ON benchmark_runs (ts_ms);
CREATE INDEX benchmark_runs_by_host_time ON benchmark_runs (host, ts_ms);

CREATE TABLE benchmark_results (
    id INTEGER PRIMARY KEY,
    run_id TEXT NOT NULL,
    ts_ms INTEGER NOT NULL,
    host TEXT NOT NULL,
    model_name TEXT NOT NULL,
    case_name TEXT NOT NULL,
    eval_tokens_per_second REAL,
    prompt_tokens_per_second REAL,
    ttft_ms REAL,
    latency_ms REAL,
    cold_load_ms REAL,
    errors INTEGER NOT NULL,
    UNIQUE (run_id, model_name, case_name)
);
CREATE INDEX benchmark_results_by_model_time ON benchmark_results (model_name, ts_ms);
"""

# One statement with `;` inside: created by `create_trigger`, not split like SCHEMA.
_RESULTS_FOLLOW_THEIR_RUN = """
CREATE TRIGGER benchmark_results_follow_run AFTER DELETE ON benchmark_runs
BEGIN
    DELETE FROM benchmark_results WHERE run_id = old.run_id;
END
"""

INSERT_RUN_SQL = (
    "INSERT OR IGNORE INTO benchmark_runs (event_id, run_id, ts_ms, host, backend, "
    "server_version, suite_version, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
INSERT_RESULT_SQL = (
    "INSERT OR IGNORE INTO benchmark_results (run_id, ts_ms, host, model_name, case_name, "
    "eval_tokens_per_second, prompt_tokens_per_second, ttft_ms, latency_ms, cold_load_ms, "
    "errors) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
# A model measured in no case (it failed before its first) still gets a row.
NO_CASE = ""


def create_trigger(conn: sqlite3.Connection) -> None:
    """The migration's Python step: results are deleted with their run."""
    conn.execute(_RESULTS_FOLLOW_THEIR_RUN)


def run_row(event: BenchmarkRun, ts_ms: int, data: str) -> tuple[object, ...]:
    """The run's row (`ts_ms`: when it finished; its JSON already redacted)."""
    return (
        event.event_id,
        event.run_id,
        ts_ms,
        event.host,
        event.backend,
        event.server_version,
        event.suite_version,
        data,
    )


def result_rows(event: BenchmarkRun, ts_ms: int) -> list[tuple[object, ...]]:
    """One row per (model, case) of the run; a model without cases gets one with none."""
    rows: list[tuple[object, ...]] = []
    for result in event.models:
        common = (event.run_id, ts_ms, event.host, result.model)
        if not result.cases:
            rows.append((*common, NO_CASE, None, None, None, None, result.cold_load_ms, 0))
        for case in result.cases:
            rows.append(
                (
                    *common,
                    case.case.value,
                    case.eval_tokens_per_second.mean if case.eval_tokens_per_second else None,
                    case.prompt_tokens_per_second.mean if case.prompt_tokens_per_second else None,
                    case.ttft_ms.mean if case.ttft_ms else None,
                    case.latency_ms.mean,
                    result.cold_load_ms,
                    case.errors,
                )
            )
    return rows
