"""Storage keeps where a request's tokens came from and which kind of server answered."""

from __future__ import annotations

from pathlib import Path

from ollamon_core.events import (
    BackendKind,
    BackendLoad,
    Event,
    OllamaHealth,
    OllamaModelMetrics,
    OllamaModelsSnapshot,
    TokenSource,
)
from ollamon_storage import rows, writer
from ollamon_storage.database import Database
from tests.services.storage import factories
from tests.services.storage.conftest import fetch_all_async


async def store(path: Path, events: list[Event]) -> None:
    database = await Database.open(path)
    try:
        batch = rows.group_rows((event, event.model_dump_json()) for event in events)
        await writer.write_batch(database, batch)
    finally:
        await database.close()


async def test_token_source_backend_and_load_are_stored_with_their_events(tmp_path: Path) -> None:
    path = tmp_path / "ollamon.db"
    request = factories.request(
        tokens_generated=24,
        token_source=TokenSource.COUNTED,
        inter_token_gap_mean_ms=12.5,
        tokens_per_second=80.0,
    )
    url = "http://gpu-a:8080"
    health = OllamaHealth(host="box-1", ollama_url=url, up=True, backend=BackendKind.LLAMA_CPP)
    snapshot = OllamaModelsSnapshot(
        host="box-1",
        ollama_url=url,
        backend=BackendKind.LLAMA_CPP,
        backend_load=BackendLoad(requests_waiting=3, kv_cache_usage_percent=40.0),
    )
    await store(path, [request, health, snapshot])
    [(request_data,)] = await fetch_all_async(path, "SELECT data FROM requests")
    stored = OllamaModelMetrics.model_validate_json(request_data)
    assert (stored.token_source, stored.inter_token_gap_mean_ms) == (TokenSource.COUNTED, 12.5)
    [(health_data,)] = await fetch_all_async(path, "SELECT data FROM health")
    assert OllamaHealth.model_validate_json(health_data).backend == BackendKind.LLAMA_CPP
    [(snapshot_data,)] = await fetch_all_async(path, "SELECT data FROM model_snapshots")
    load = OllamaModelsSnapshot.model_validate_json(snapshot_data).backend_load
    assert load == BackendLoad(requests_waiting=3, kv_cache_usage_percent=40.0)
