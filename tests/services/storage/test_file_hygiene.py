"""Storage's files over real NATS and SQLite: private modes (read back by stat), exports and
backups that never overwrite, a row ceiling and a folder quota, clear 4xx answers for bad
names, and no absolute server path in any reply or error."""

from __future__ import annotations

import asyncio
import contextlib
import json
import stat
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path

import nats
import pytest

from ollamon_core import subjects
from ollamon_core.bus import QueryFailedError
from ollamon_core.bus.wire import ERROR_HEADER
from ollamon_core.events import ServiceName
from ollamon_core.events.queries import BackupRequest, ExportFormat, ExportRequest
from ollamon_storage import service
from ollamon_storage.settings import StorageSettings
from tests.conftest import BusFactory
from tests.services.storage import factories
from tests.services.storage.conftest import (
    count_rows_async,
    make_settings,
    publish_all,
    wait_for_ready,
)
from tests.support.waiting import wait_for_async

Storage = Callable[..., AbstractAsyncContextManager[StorageSettings]]


@pytest.fixture
def storage(tmp_path: Path, clean_nats_url: str, bus_factory: BusFactory) -> Storage:
    """Storage running in this process with settings overridden, holding 12 stored rows."""

    def start(**overrides: object) -> AbstractAsyncContextManager[StorageSettings]:
        return running(make_settings(tmp_path / "data", clean_nats_url, **overrides))

    async def fill(settings: StorageSettings) -> None:
        bus = await bus_factory(ServiceName.PROBE)
        await publish_all(bus, [factories.request() for _ in range(10)] + [factories.system()])
        await publish_all(bus, [factories.alert()])

        async def stored() -> bool:
            return await count_rows_async(settings.database_path, "alerts") == 1

        await wait_for_async(stored, timeout=10, message="every row stored")
        assert await count_rows_async(settings.database_path, "requests") == 10

    @contextlib.asynccontextmanager
    async def running(settings: StorageSettings) -> AsyncIterator[StorageSettings]:
        async with service.running_storage(settings):
            await wait_for_ready(settings)
            await fill(settings)
            yield settings

    return start


def modes(root: Path) -> dict[str, int]:
    """The permission bits of everything under `root` (and of `root` itself, as "."),
    folders with a trailing "/"."""
    found = {"./": stat.S_IMODE(root.stat().st_mode)}
    for path in root.rglob("*"):
        name = path.relative_to(root).as_posix() + ("/" if path.is_dir() else "")
        found[name] = stat.S_IMODE(path.lstat().st_mode)
    return found


def loose_storage(settings: StorageSettings) -> None:
    """A storage path and database left world-readable (as an older version made them)."""
    settings.storage_path.mkdir()
    settings.storage_path.chmod(0o755)
    settings.database_path.touch()
    settings.database_path.chmod(0o644)


async def test_the_database_exports_backups_and_their_folders_are_private(
    storage: Storage, bus_factory: BusFactory
) -> None:
    async with storage() as settings:
        bus = await bus_factory(ServiceName.GATEWAY)
        await bus.request(subjects.QUERY_EXPORT, ExportRequest(filepath="deep/er/all.json"))
        await bus.request(subjects.QUERY_EXPORT, ExportRequest(format=ExportFormat.CSV))
        await bus.request(subjects.QUERY_BACKUP, BackupRequest(filepath="copy.db"))
        found = await asyncio.to_thread(modes, settings.storage_path)
    assert {"ollamon.db", "ollamon.db-wal", "ollamon.db-shm"} <= set(found)
    assert "backups/copy.db" in found
    assert "exports/deep/er/all.json" in found
    folders = {name for name in found if name.endswith("/")}
    assert folders == {"./", "exports/", "exports/deep/", "exports/deep/er/", "backups/"}
    assert {found[name] for name in folders} == {0o700}
    assert {found[name] for name in set(found) - folders} == {0o600}, found


async def test_an_existing_database_and_folder_are_tightened_at_start(
    tmp_path: Path, clean_nats_url: str
) -> None:
    settings = make_settings(tmp_path / "data", clean_nats_url)
    await asyncio.to_thread(loose_storage, settings)
    async with service.running_storage(settings):
        found = await asyncio.to_thread(modes, settings.storage_path)
    assert (found["./"], found["ollamon.db"]) == (0o700, 0o600)


async def test_a_second_export_or_backup_with_the_same_name_is_409_and_overwrites_nothing(
    storage: Storage, bus_factory: BusFactory
) -> None:
    async with storage() as settings:
        bus = await bus_factory(ServiceName.GATEWAY)
        first = await bus.request(subjects.QUERY_EXPORT, ExportRequest(filepath="same.json"))
        written = settings.storage_path / first.path
        before = await asyncio.to_thread(written.read_bytes)
        for request in (
            ExportRequest(filepath="same.json"),
            ExportRequest(filepath="same.json", format=ExportFormat.CSV),
        ):
            with pytest.raises(QueryFailedError) as refused:
                await bus.request(subjects.QUERY_EXPORT, request)
            assert refused.value.error.status_code == 409
            assert "exports/same.json exists already" in refused.value.error.error
        assert await asyncio.to_thread(written.read_bytes) == before

        await bus.request(subjects.QUERY_BACKUP, BackupRequest(filepath="b.db"))
        with pytest.raises(QueryFailedError) as refused:
            await bus.request(subjects.QUERY_BACKUP, BackupRequest(filepath="b.db"))
        assert refused.value.error.status_code == 409
        assert refused.value.error.error == "backup refused: backups/b.db exists already"
        names = await asyncio.to_thread(lambda: sorted(settings.backup_path.iterdir()))
        assert [path.name for path in names] == ["b.db"]  # no partial copy left behind


async def test_a_csv_export_whose_sibling_file_exists_writes_nothing(
    storage: Storage, bus_factory: BusFactory
) -> None:
    async with storage() as settings:
        await asyncio.to_thread(settings.export_path.mkdir)
        sibling = settings.export_path / "t.alerts.csv"
        await asyncio.to_thread(sibling.write_text, "mine")
        bus = await bus_factory(ServiceName.GATEWAY)
        with pytest.raises(QueryFailedError) as refused:
            await bus.request(
                subjects.QUERY_EXPORT, ExportRequest(filepath="t.csv", format=ExportFormat.CSV)
            )
        assert refused.value.error.status_code == 409
        names = await asyncio.to_thread(lambda: [p.name for p in settings.export_path.iterdir()])
        assert names == ["t.alerts.csv"]
        assert await asyncio.to_thread(sibling.read_text) == "mine"


async def test_an_export_over_the_row_ceiling_is_413_and_writes_nothing(
    storage: Storage, bus_factory: BusFactory
) -> None:
    async with storage(max_export_rows=11) as settings:
        bus = await bus_factory(ServiceName.GATEWAY)
        with pytest.raises(QueryFailedError) as refused:
            await bus.request(subjects.QUERY_EXPORT, ExportRequest())
        assert refused.value.error.status_code == 413
        assert "12 rows, one export at most 11" in refused.value.error.error
        assert await asyncio.to_thread(lambda: list(settings.export_path.iterdir())) == []


async def test_an_export_that_would_pass_the_folder_quota_is_507_and_removes_its_files(
    storage: Storage, bus_factory: BusFactory
) -> None:
    async with storage(max_export_folder_bytes=3000) as settings:
        bus = await bus_factory(ServiceName.GATEWAY)
        for export_format in (ExportFormat.JSON, ExportFormat.CSV):
            with pytest.raises(QueryFailedError) as refused:
                await bus.request(subjects.QUERY_EXPORT, ExportRequest(format=export_format))
            assert refused.value.error.status_code == 507
            assert "quota of 3000 bytes" in refused.value.error.error
        assert await asyncio.to_thread(lambda: list(settings.export_path.iterdir())) == []


async def test_a_folder_already_at_its_quota_refuses_the_next_export(
    storage: Storage, bus_factory: BusFactory
) -> None:
    async with storage(max_export_folder_bytes=100_000) as settings:
        await asyncio.to_thread(settings.export_path.mkdir)
        await asyncio.to_thread((settings.export_path / "old.bin").write_bytes, b"x" * 100_000)
        bus = await bus_factory(ServiceName.GATEWAY)
        with pytest.raises(QueryFailedError) as refused:
            await bus.request(subjects.QUERY_EXPORT, ExportRequest())
        assert refused.value.error.status_code == 507


@pytest.mark.parametrize(
    ("filepath", "reason"),
    [
        ("x" * 256, "at most 255 characters"),
        ("x" * 101 + ".json", "at most 100 characters"),
        ("a" * 90 + "/" + "b" * 101, "at most 100 characters"),
        ("naïve.json", "may hold only letters"),
        ("a\u0000b.json", "may hold only letters"),
        ("../outside.json", "outside the folder"),
        ("/etc/passwd", "outside the folder"),
    ],
)
async def test_a_bad_export_name_from_a_plain_client_is_a_clear_400(
    storage: Storage, filepath: str, reason: str
) -> None:
    async with storage() as settings:
        nc = await nats.connect(settings.nats_url)
        try:
            body = json.dumps({"filepath": filepath}).encode()
            reply = await nc.request(subjects.QUERY_EXPORT.subject, body, timeout=10)
        finally:
            await nc.drain()
    assert reply.headers and reply.headers.get(ERROR_HEADER)
    error = json.loads(reply.data)
    assert error["status_code"] == 400
    assert reason in error["error"]
    assert "Traceback" not in error["error"]
    assert str(settings.storage_path) not in error["error"]
    assert "/tmp" not in error["error"]


async def test_no_reply_or_error_names_an_absolute_server_path(
    storage: Storage, bus_factory: BusFactory
) -> None:
    async with storage() as settings:
        bus = await bus_factory(ServiceName.GATEWAY)
        texts = []
        for request in (ExportRequest(filepath="a.json"), ExportRequest(format=ExportFormat.CSV)):
            reply = await bus.request(subjects.QUERY_EXPORT, request)
            texts.append(reply.model_dump_json())
        texts.append((await bus.request(subjects.QUERY_BACKUP, BackupRequest())).model_dump_json())
        for request in (ExportRequest(filepath="a.json"), ExportRequest(filepath="../x.json")):
            with pytest.raises(QueryFailedError) as refused:
                await bus.request(subjects.QUERY_EXPORT, request)
            texts.append(refused.value.error.error)
        root = await asyncio.to_thread(settings.storage_path.resolve)
    for text in texts:
        assert str(root) not in text and str(settings.storage_path) not in text, text
