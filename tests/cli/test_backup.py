"""`ollamon backup` asks a running storage for an online copy over NATS."""

from __future__ import annotations

import pytest

from ollamon_cli.backup import request_backup
from ollamon_cli.exits import CommandError
from ollamon_cli.nats_target import NatsTarget
from ollamon_storage.settings import StorageSettings
from tests.services.storage.conftest import running_storage, storage_settings

__all__ = ["running_storage", "storage_settings"]  # the storage tests' fixtures, used here


async def test_backup_names_the_file_storage_wrote(running_storage: StorageSettings) -> None:
    line = await request_backup(NatsTarget.given(running_storage.nats_url))
    assert line.startswith("backup written to backups/")
    assert line.endswith(" bytes)")


async def test_backup_without_storage_is_one_line_naming_the_subject(
    clean_nats_url: str,
) -> None:
    with pytest.raises(CommandError, match=r"storage did not answer on ollamon\.query\.backup"):
        await request_backup(NatsTarget.given(clean_nats_url), timeout_seconds=0.5)
