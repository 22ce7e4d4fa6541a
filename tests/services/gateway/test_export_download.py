"""Export downloads and cleanup through the gateway, over the real bus and the real storage.

Issue 16's repro: Export wrote a file on the server and answered its path (nothing came
to the browser); "Keep days 0" deleted the whole history with no question asked.
Now the file streams through the gateway (storage sends it in chunks over NATS: the
gateway need not share its disk), only from the export folder, and `days_to_keep: 0`
needs `confirm: true`.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from ollamon_core import subjects
from ollamon_core.events import ServiceName
from ollamon_core.events.queries import EXPORT_CHUNK_BYTES, QueryError
from ollamon_storage.service import running_storage
from ollamon_storage.settings import StorageSettings
from tests.conftest import BusFactory
from tests.services.gateway.test_rest import API, assert_problem
from tests.services.storage.conftest import count_rows_async, make_settings, wait_for_ready
from tests.support.two_hosts import store_events, two_host_events

Client = httpx.AsyncClient
DOWNLOAD = f"{API}/export"


@pytest.fixture
async def stored(tmp_path: Path, clean_nats_url: str) -> AsyncIterator[StorageSettings]:
    """The storage service over a database that holds two hosts' events."""
    settings = make_settings(tmp_path / "storage", clean_nats_url)
    await store_events(settings.database_path, two_host_events())
    async with running_storage(settings):
        await wait_for_ready(settings)
        yield settings


async def _export(client: Client, body: dict[str, str]) -> dict[str, object]:
    response = await client.post(f"{API}/export", json=body)
    assert response.status_code == 200, response.text
    reply: dict[str, object] = response.json()
    return reply


async def test_an_export_downloads_as_the_file_storage_wrote(
    client: Client, stored: StorageSettings
) -> None:
    reply = await _export(client, {"format": "json"})
    path = str(reply["path"])
    assert path.startswith("exports/ollamon-export-")
    response = await client.get(f"{DOWNLOAD}/{path}")
    assert response.status_code == 200, response.text
    written = await asyncio.to_thread((stored.storage_path / path).read_bytes)
    assert response.content == written
    assert response.headers["content-length"] == str(len(written))
    assert response.headers["content-type"] == "application/json"
    name = Path(path).name
    assert response.headers["content-disposition"].startswith(f'attachment; filename="{name}"')
    assert b'"format": "ollamon-export"' in response.content


async def test_every_csv_file_of_an_export_downloads(
    client: Client, stored: StorageSettings
) -> None:
    reply = await _export(client, {"format": "csv", "filepath": "tables/all.csv"})
    files = [str(path) for path in reply["files"]]  # type: ignore[attr-defined]
    assert len(files) > 1
    for path in files:
        response = await client.get(f"{DOWNLOAD}/{path}")
        assert response.status_code == 200, path
        assert response.headers["content-type"].startswith("text/csv")
        assert response.content == await asyncio.to_thread((stored.storage_path / path).read_bytes)


async def test_a_file_larger_than_a_chunk_arrives_whole_in_order(
    client: Client, stored: StorageSettings
) -> None:
    big = os.urandom(EXPORT_CHUNK_BYTES * 3 + 12_345)
    await asyncio.to_thread(stored.export_path.mkdir, parents=True, exist_ok=True)
    await asyncio.to_thread((stored.export_path / "big.json").write_bytes, big)
    async with client.stream("GET", f"{DOWNLOAD}/exports/big.json") as response:
        assert response.status_code == 200
        assert response.headers["content-length"] == str(len(big))
        received = b"".join([part async for part in response.aiter_bytes()])
    assert received == big


@pytest.mark.parametrize(
    ("path", "status_code", "reason"),
    [
        ("ollamon.db", 400, "not a file of the export folder"),
        ("exports/escape.json", 400, "not a file of the export folder"),
        ("exports", 400, "not a file of the export folder"),
        ("exports/never-written.json", 404, "no export"),
        ("exports/a;b.json", 400, "may hold only"),
    ],
)
async def test_only_files_inside_the_export_folder_are_served(
    client: Client, stored: StorageSettings, path: str, status_code: int, reason: str
) -> None:
    # A symlink inside the folder that points at the database outside it.
    await asyncio.to_thread(stored.export_path.mkdir, parents=True, exist_ok=True)
    escape = stored.export_path / "escape.json"
    await asyncio.to_thread(escape.symlink_to, stored.database_path)
    response = await client.get(f"{DOWNLOAD}/{path}")
    assert_problem(response, status_code, reason)
    assert b"SQLite format" not in response.content


async def test_a_download_without_storage_is_a_503_naming_it(client: Client) -> None:
    response = await client.get(f"{DOWNLOAD}/exports/any.json")
    body = assert_problem(response, 503, "storage")
    assert body["subject"] == subjects.QUERY_EXPORT_CHUNK.subject


async def test_cleanup_of_everything_needs_confirm_and_then_deletes_everything(
    client: Client, stored: StorageSettings, bus_factory: BusFactory
) -> None:
    before = await count_rows_async(stored.database_path, "requests")
    assert before > 0
    for body in ({"days_to_keep": 0}, {"days_to_keep": 0, "confirm": False}):
        response = await client.post(f"{API}/cleanup", json=body)
        assert_problem(response, 400, "confirm: true")
    refused = await client.post(f"{API}/cleanup", json={"days_to_keep": 0, "confirm": "yes"})
    assert_problem(refused, 400, "confirm", "JSON boolean")
    # Another client of the bus (not the gateway) gets the same refusal from storage itself.
    bus = await bus_factory(ServiceName.CLI)
    msg = await bus.nc.request(subjects.QUERY_CLEANUP.subject, b'{"days_to_keep": 0}', timeout=5)
    error = QueryError.model_validate_json(msg.data)
    assert (error.status_code, "confirm: true" in error.error) == (400, True)
    assert await count_rows_async(stored.database_path, "requests") == before

    response = await client.post(f"{API}/cleanup", json={"days_to_keep": 0, "confirm": True})
    assert response.status_code == 200, response.text
    assert response.json()["deleted"]["requests"] == before
    assert await count_rows_async(stored.database_path, "requests") == 0
