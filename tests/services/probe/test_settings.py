"""Each public variable of the probe settings reaches its field, and no other prefix does."""

from __future__ import annotations

import pytest

from ollamon_probe.settings import ProbeSettings
from tests.support.settings_env import (
    MONITORING_INTERVAL_ENV_NAMES,
    OLLAMA_URLS_ENV_NAMES,
    SHARED_ENV_NAMES,
    SPOOL_ENV_NAMES,
    assert_read_under_no_other_prefix,
    assert_variable_sets_field,
)

# Variable -> field: the public names (README's configuration table). Do not change one
# without a reason users can follow.
ENV_NAMES = {
    **SHARED_ENV_NAMES,
    **OLLAMA_URLS_ENV_NAMES,
    **MONITORING_INTERVAL_ENV_NAMES,
    **SPOOL_ENV_NAMES,
    "OLLAMON_PROXY_HOST": "proxy_host",
    "OLLAMON_PROXY_PORT": "proxy_port",
    "OLLAMON_UPSTREAM_TIMEOUT": "upstream_timeout_seconds",
    "OLLAMON_PROXY_MAX_HEADER_BYTES": "proxy_max_header_bytes",
    "OLLAMON_PROXY_HEADER_TIMEOUT": "proxy_header_timeout_seconds",
    "OLLAMON_PROXY_BODY_IDLE_TIMEOUT": "proxy_body_idle_timeout_seconds",
    "OLLAMON_PROXY_MAX_CONNECTIONS": "proxy_max_connections",
    "OLLAMON_OLLAMA_LOG_PATH": "ollama_log_path",
    "OLLAMON_OLLAMA_LOG_UNIT": "ollama_log_unit",
    "OLLAMON_OLLAMA_LOG_GRACE": "ollama_log_grace_seconds",
    "OLLAMON_OLLAMA_LOG_UTC_OFFSET_MINUTES": "ollama_log_utc_offset_minutes",
    "OLLAMON_BENCHMARK_QUIET": "benchmark_quiet_seconds",
}


def test_every_field_is_listed_under_a_public_name() -> None:
    assert set(ENV_NAMES.values()) == set(ProbeSettings.model_fields)


@pytest.mark.parametrize(("env_name", "field_name"), ENV_NAMES.items())
def test_each_public_variable_sets_its_field(
    env_name: str, field_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert_variable_sets_field(ProbeSettings, env_name, field_name, monkeypatch)


@pytest.mark.parametrize("field_name", sorted(set(ENV_NAMES.values())))
def test_no_field_is_read_under_another_prefix(
    field_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert_read_under_no_other_prefix(ProbeSettings, field_name, ENV_NAMES, monkeypatch)
