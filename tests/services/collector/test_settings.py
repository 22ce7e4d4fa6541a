"""Each public variable of the collector settings reaches its field, and no other prefix does."""

from __future__ import annotations

import pytest

from ollamon_collector.settings import CollectorSettings
from tests.support.settings_env import (
    MONITORING_INTERVAL_ENV_NAMES,
    SHARED_ENV_NAMES,
    SPOOL_ENV_NAMES,
    STORAGE_PATH_ENV_NAMES,
    assert_read_under_no_other_prefix,
    assert_variable_sets_field,
)

# Variable -> field: the public names (README's configuration table). Do not change one
# without a reason users can follow.
ENV_NAMES = {
    **SHARED_ENV_NAMES,
    **MONITORING_INTERVAL_ENV_NAMES,
    **SPOOL_ENV_NAMES,
    **STORAGE_PATH_ENV_NAMES,
    "OLLAMON_PROCESS_RESCAN_INTERVAL_SECONDS": "process_rescan_interval_seconds",
    "OLLAMON_CONNECTIONS_FALLBACK_INTERVAL_SECONDS": "connections_fallback_interval_seconds",
    "OLLAMON_SYSFS_ROOT": "sysfs_root",
    "OLLAMON_OLLAMA_MODELS_PATH": "ollama_models_path",
}


def test_every_field_is_listed_under_a_public_name() -> None:
    assert set(ENV_NAMES.values()) == set(CollectorSettings.model_fields)


@pytest.mark.parametrize(("env_name", "field_name"), ENV_NAMES.items())
def test_each_public_variable_sets_its_field(
    env_name: str, field_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert_variable_sets_field(CollectorSettings, env_name, field_name, monkeypatch)


@pytest.mark.parametrize("field_name", sorted(set(ENV_NAMES.values())))
def test_no_field_is_read_under_another_prefix(
    field_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert_read_under_no_other_prefix(CollectorSettings, field_name, ENV_NAMES, monkeypatch)
