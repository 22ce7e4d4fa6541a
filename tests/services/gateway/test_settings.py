"""Each public variable of the gateway settings reaches its field, and no other prefix does."""

from __future__ import annotations

import pytest

from ollamon_gateway.settings import GatewaySettings
from tests.support.settings_env import (
    MONITORING_INTERVAL_ENV_NAMES,
    SHARED_ENV_NAMES,
    assert_read_under_no_other_prefix,
    assert_variable_sets_field,
)

# Variable -> field: the public names (README's configuration table). Do not change one
# without a reason users can follow.
ENV_NAMES = {
    **SHARED_ENV_NAMES,
    **MONITORING_INTERVAL_ENV_NAMES,
    "OLLAMON_GATEWAY_HOST": "gateway_host",
    "OLLAMON_GATEWAY_PORT": "gateway_port",
    "OLLAMON_API_TOKEN": "api_token",
    "OLLAMON_SSE_BUFFER_SIZE": "sse_buffer_size",
    "OLLAMON_SSE_CLIENT_QUEUE_SIZE": "sse_client_queue_size",
    "OLLAMON_SSE_HEARTBEAT": "sse_heartbeat_seconds",
    "OLLAMON_EXPORT_TIMEOUT": "export_timeout_seconds",
    "OLLAMON_GATEWAY_MAX_HEADER_BYTES": "gateway_max_header_bytes",
    "OLLAMON_GATEWAY_HEADER_TIMEOUT": "gateway_header_timeout_seconds",
    "OLLAMON_GATEWAY_BODY_IDLE_TIMEOUT": "gateway_body_idle_timeout_seconds",
    "OLLAMON_GATEWAY_MAX_CONNECTIONS": "gateway_max_connections",
    "OLLAMON_GATEWAY_ALLOWED_HOSTS": "gateway_allowed_hosts",
    "OLLAMON_HEALTH_CHECK_INTERVAL": "health_check_interval_seconds",
}


def test_every_field_is_listed_under_a_public_name() -> None:
    assert set(ENV_NAMES.values()) == set(GatewaySettings.model_fields)


@pytest.mark.parametrize(("env_name", "field_name"), ENV_NAMES.items())
def test_each_public_variable_sets_its_field(
    env_name: str, field_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert_variable_sets_field(GatewaySettings, env_name, field_name, monkeypatch)


@pytest.mark.parametrize("field_name", sorted(set(ENV_NAMES.values())))
def test_no_field_is_read_under_another_prefix(
    field_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert_read_under_no_other_prefix(GatewaySettings, field_name, ENV_NAMES, monkeypatch)


@pytest.mark.parametrize("value", ["", "   "])
def test_an_empty_api_token_is_no_token(value: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OLLAMON_API_TOKEN", value)
    assert GatewaySettings().api_token is None


def test_a_set_api_token_is_kept_as_written(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OLLAMON_API_TOKEN", "s3cret")
    assert GatewaySettings().api_token == "s3cret"
