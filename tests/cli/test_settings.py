"""Each public variable of the `ollamon` command's settings reaches its field."""

from __future__ import annotations

import pytest

from ollamon_cli.settings import StackSettings
from tests.support.settings_env import (
    OLLAMA_URLS_ENV_NAMES,
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
    **OLLAMA_URLS_ENV_NAMES,
    "OLLAMON_EMBEDDED_NATS_PORT": "embedded_nats_port",
    "OLLAMON_PROXY_HOST": "proxy_host",
    "OLLAMON_PROXY_PORT": "proxy_port",
    "OLLAMON_GATEWAY_HOST": "gateway_host",
    "OLLAMON_GATEWAY_PORT": "gateway_port",
    "OLLAMON_API_TOKEN": "api_token",
    "OLLAMON_MAX_RESTARTS": "max_restarts",
    "OLLAMON_PROCESSES": "processes",
    # The fleet (`ollamon up --role edge|hub`).
    "OLLAMON_JETSTREAM_DOMAIN": "jetstream_domain",
    "OLLAMON_HUB_LEAF_URLS": "hub_leaf_urls",
    "OLLAMON_NATS_PASSWORD_LEAF": "leaf_password",
    "OLLAMON_FLEET_EDGES": "fleet_edges",
    "OLLAMON_NATS_SERVER_NAME": "nats_server_name",
    "OLLAMON_CLUSTER_HOST": "cluster_host",
    "OLLAMON_CLUSTER_PORT": "cluster_port",
    "OLLAMON_CLUSTER_ROUTES": "cluster_routes",
    "OLLAMON_LEAFNODE_PORT": "leafnode_port",
    "OLLAMON_STREAM_REPLICAS": "stream_replicas",
    "OLLAMON_FLEET_TLS_CERT": "fleet_tls_cert",
    "OLLAMON_FLEET_TLS_KEY": "fleet_tls_key",
    "OLLAMON_FLEET_TLS_CA": "fleet_tls_ca",
}


def test_every_field_is_listed_under_a_public_name() -> None:
    assert set(ENV_NAMES.values()) == set(StackSettings.model_fields)


@pytest.mark.parametrize(("env_name", "field_name"), ENV_NAMES.items())
def test_each_public_variable_sets_its_field(
    env_name: str, field_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert_variable_sets_field(StackSettings, env_name, field_name, monkeypatch)


@pytest.mark.parametrize("field_name", sorted(set(ENV_NAMES.values())))
def test_no_field_is_read_under_another_prefix(
    field_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert_read_under_no_other_prefix(StackSettings, field_name, ENV_NAMES, monkeypatch)


def test_an_empty_api_token_is_no_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OLLAMON_API_TOKEN", "")
    assert StackSettings().api_token is None
