"""Settings of storage, read from `OLLAMON_STORAGE_*` variables."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from ollamon_core.settings import ServiceSettings, storage_path_field


class StorageSettings(ServiceSettings):
    """Settings of storage."""

    model_config = SettingsConfigDict(env_prefix="OLLAMON_STORAGE_")

    storage_path: Path = storage_path_field()
    batch_size: int = Field(default=2000, ge=1, description="Rows per SQLite transaction at most")
    batch_interval_seconds: float = Field(
        default=0.5,
        gt=0,
        validation_alias="OLLAMON_STORAGE_BATCH_INTERVAL",
        description="Longest a received event waits before its batch commits (group commit: "
        "at low rates one transaction per interval instead of one per event)",
    )
    retention_days: int = Field(
        default=30,
        ge=1,
        description="Days of history kept in SQLite and in the JetStream stream (max age)",
    )
    cleanup_interval_seconds: float = Field(
        default=600.0,
        gt=0,
        validation_alias="OLLAMON_STORAGE_CLEANUP_INTERVAL",
        description="Seconds between scheduled cleanups (retention days and row caps)",
    )
    max_request_rows: int = Field(
        default=1_000_000,
        ge=1,
        description="Most raw request rows kept (oldest deleted first; rollups stay)",
    )
    max_system_rows: int = Field(
        default=600_000,
        ge=1,
        description="Most system samples kept (oldest deleted first)",
    )
    max_alert_rows: int = Field(
        default=10_000,
        ge=1,
        description="Most alert history rows kept (oldest deleted first)",
    )
    max_other_rows: int = Field(
        default=200_000,
        ge=1,
        description="Most rows kept in each of the scores, lifecycle, health, audit and "
        "delivery-log tables",
    )
    export_dir: str = Field(
        default="exports",
        min_length=1,
        description="Folder under the storage path that exports are confined to",
    )
    max_export_rows: int = Field(
        default=5_000_000,
        ge=1,
        description="Most rows one export may hold (all tables); a larger one is refused (413)",
    )
    max_export_folder_bytes: int = Field(
        default=10 * 1024**3,
        ge=1,
        description=(
            "Most bytes the export folder may hold; an export that would pass it is refused "
            "(507) and what it wrote removed"
        ),
    )
    backup_dir: str = Field(
        default="backups",
        min_length=1,
        description="Folder under the storage path that backups are confined to",
    )

    @property
    def database_path(self) -> Path:
        """The SQLite file."""
        return self.storage_path / "ollamon.db"

    @property
    def export_path(self) -> Path:
        """The folder every export is written inside."""
        return self.storage_path / self.export_dir

    @property
    def backup_path(self) -> Path:
        """The folder every backup is written inside."""
        return self.storage_path / self.backup_dir
