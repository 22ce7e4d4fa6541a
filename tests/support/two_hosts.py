"""Two hosts' events with known values, stored in a real SQLite file as ingest stores them.

`vm` and `hostB` both run `llama3.2:1b` (issue 14's repro: a second probe labelled
`hostB`); `hostB` also runs `qwen2.5:7b`. Their figures differ everywhere a merge would
show: memory (11 % and 50 %), latency, errors, scores (hostB's is the newest of all),
Ollama state (hostB's is down), alerts.
"""

from __future__ import annotations

from pathlib import Path

from ollamon_core.events import (
    AlertState,
    Event,
    ModelScore,
    OllamaHealth,
    OllamaPerformanceAlert,
    Severity,
)
from ollamon_core.events.ollama import LifecycleChange, ModelLifecycleEvent
from ollamon_storage import rows, writer
from ollamon_storage.database import Database
from tests.services.storage import factories

MODEL = "llama3.2:1b"
VM_URL = "http://127.0.0.1:11434"
HOST_B_URL = "http://10.0.0.2:11434"


def _score(host: str, value: float, minutes_ago: float) -> ModelScore:
    return ModelScore(
        host=host, model_name=MODEL, score=value, timestamp=factories.minutes_ago(minutes_ago)
    )


def _health(host: str, url: str, up: bool, minutes_ago: float) -> OllamaHealth:
    return OllamaHealth(
        host=host, ollama_url=url, up=up, timestamp=factories.minutes_ago(minutes_ago)
    )


def _alert(host: str, fingerprint: str, state: AlertState = AlertState.FIRING) -> Event:
    return OllamaPerformanceAlert(
        host=host,
        alert_type="slow_response",
        severity=Severity.HIGH,
        message="slow",
        model_name=MODEL,
        fingerprint=fingerprint,
        state=state,
        timestamp=factories.minutes_ago(3),
    )


def two_host_events() -> list[Event]:
    """`vm`: 30 fast requests, 11 % memory, Ollama up, scored 8 twenty minutes ago.
    `hostB`: 10 slow requests (2 errors), 50 % memory, Ollama down, scored 3 a minute ago
    (the newest score of all), and its system sample is the newest of all."""
    events: list[Event] = []
    for index in range(30):
        events.append(factories.request(MODEL, 100.0, host="vm", at=factories.minutes_ago(index)))
    for index in range(10):
        events.append(
            factories.request(
                MODEL,
                4000.0,
                host="hostB",
                at=factories.minutes_ago(index),
                error_occurred=index < 2,
            )
        )
    events.append(factories.request("qwen2.5:7b", 300.0, host="hostB"))
    for index in range(20):
        vm = factories.system(at=factories.minutes_ago(20 - index), host="vm")
        events.append(vm.model_copy(update={"memory_usage_percent": 11.0}))
        host_b = factories.system(at=factories.minutes_ago(19.5 - index), host="hostB")
        events.append(host_b.model_copy(update={"memory_usage_percent": 50.0}))
    events += [
        _score("vm", 8.0, 20),
        _score("hostB", 3.0, 1),
        _health("vm", VM_URL, True, 5),
        _health("hostB", HOST_B_URL, True, 30),
        _health("hostB", HOST_B_URL, False, 2),
        _alert("hostB", "slow|hostB"),
        _alert("vm", "slow|vm", AlertState.RESOLVED),
        ModelLifecycleEvent(
            host="hostB",
            ollama_url=HOST_B_URL,
            model_name=MODEL,
            change=LifecycleChange.LOADED,
            timestamp=factories.minutes_ago(40),
        ),
    ]
    return events


async def store_events(path: Path, events: list[Event]) -> None:
    """Write events to the database file (created and migrated) in one batch."""
    database = await Database.open(path)
    try:
        await writer.write_batch(
            database, rows.group_rows((event, event.model_dump_json()) for event in events)
        )
    finally:
        await database.close()
