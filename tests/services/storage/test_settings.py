"""Each public variable of the storage settings reaches its field, and no other prefix does."""

from __future__ import annotations

import pytest

from ollamon_storage.settings import StorageSettings
from tests.support.settings_env import (
    SHARED_ENV_NAMES,
    STORAGE_PATH_ENV_NAMES,
    assert_read_under_no_other_prefix,
    assert_variable_sets_field,
)

# Variable -> field: the public names (README's configuration table). Do not change one
# without a reason users can follow.
ENV_NAMES = {
    **SHARED_ENV_NAMES,
    **STORAGE_PATH_ENV_NAMES,
    "OLLAMON_STORAGE_BATCH_SIZE": "batch_size",
    "OLLAMON_STORAGE_BATCH_INTERVAL": "batch_interval_seconds",
    "OLLAMON_STORAGE_RETENTION_DAYS": "retention_days",
    "OLLAMON_STORAGE_CLEANUP_INTERVAL": "cleanup_interval_seconds",
    "OLLAMON_STORAGE_MAX_REQUEST_ROWS": "max_request_rows",
    "OLLAMON_STORAGE_MAX_SYSTEM_ROWS": "max_system_rows",
    "OLLAMON_STORAGE_MAX_ALERT_ROWS": "max_alert_rows",
    "OLLAMON_STORAGE_MAX_OTHER_ROWS": "max_other_rows",
    "OLLAMON_STORAGE_EXPORT_DIR": "export_dir",
    "OLLAMON_STORAGE_MAX_EXPORT_ROWS": "max_export_rows",
    "OLLAMON_STORAGE_MAX_EXPORT_FOLDER_BYTES": "max_export_folder_bytes",
    "OLLAMON_STORAGE_BACKUP_DIR": "backup_dir",
}


def test_every_field_is_listed_under_a_public_name() -> None:
    assert set(ENV_NAMES.values()) == set(StorageSettings.model_fields)


@pytest.mark.parametrize(("env_name", "field_name"), ENV_NAMES.items())
def test_each_public_variable_sets_its_field(
    env_name: str, field_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert_variable_sets_field(StorageSettings, env_name, field_name, monkeypatch)


@pytest.mark.parametrize("field_name", sorted(set(ENV_NAMES.values())))
def test_no_field_is_read_under_another_prefix(
    field_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert_read_under_no_other_prefix(StorageSettings, field_name, ENV_NAMES, monkeypatch)
