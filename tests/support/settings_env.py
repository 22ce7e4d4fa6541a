"""Checking that each public environment variable reaches its settings field.

A service's test module lists its public names (the README's configuration table) by hand,
so that a wrong `env_prefix` or a renamed field fails a test instead of silently changing
what users must set.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal, get_args, get_origin

import pytest
from pydantic import SecretStr
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings

# Variable -> field, for the fields every service inherits, whatever its own prefix.
SHARED_ENV_NAMES = {
    "OLLAMON_NATS_URL": "nats_url",
    "OLLAMON_NATS_USER": "nats_user",
    "OLLAMON_NATS_PASSWORD": "nats_password",
    "OLLAMON_NATS_TLS_CA": "nats_tls_ca",
    "OLLAMON_HOST_LABEL": "host_label",
    "OLLAMON_HEARTBEAT_INTERVAL": "heartbeat_interval_seconds",
    "OLLAMON_HEALTH_FILE": "health_file",
    "OLLAMON_NATS_REQUEST_TIMEOUT": "nats_request_timeout_seconds",
    "OLLAMON_LOG_LEVEL": "log_level",
}
# The specification's names come first; the OLLAMON_ ones are accepted too.
STORAGE_PATH_ENV_NAMES = {
    "OLLAMA_PERFORMANCE_STORAGE_PATH": "storage_path",
    "OLLAMON_STORAGE_PATH": "storage_path",
}
SPOOL_ENV_NAMES = {
    **STORAGE_PATH_ENV_NAMES,
    "OLLAMON_SPOOL_PATH": "spool_path",
    "OLLAMON_SPOOL_MAX_BYTES": "spool_max_bytes",
}
MONITORING_INTERVAL_ENV_NAMES = {
    "OLLAMA_MONITORING_INTERVAL": "monitoring_interval_seconds",
    "OLLAMON_MONITORING_INTERVAL": "monitoring_interval_seconds",
}
OLLAMA_URLS_ENV_NAMES = {"OLLAMON_OLLAMA_URL": "ollama_urls", "OLLAMON_OLLAMA_URLS": "ollama_urls"}

# Prefixes a variable might wrongly be read under.
PREFIXES = ("OLLAMON_", "OLLAMON_ALERT_", "OLLAMON_STORAGE_")


def clear_ollamon_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    """Remove ollamon's variables from the environment for this test."""
    for name in list(os.environ):
        if name.upper().startswith(("OLLAMON_", "OLLAMA_")):
            monkeypatch.delenv(name)


def sample(field: FieldInfo) -> tuple[str, object]:
    """A value for the field's variable, and what the field should then hold."""
    annotation = field.annotation
    if annotation == SecretStr | None:
        return "sample-secret", SecretStr("sample-secret")
    if annotation == Path | None:
        return "sample-folder", Path("sample-folder")
    if annotation is float:  # no float setting defaults to this
        return "0.75", 0.75
    if annotation is int or annotation == int | None:
        return "7", 7
    if annotation is Path:
        return "sample-folder", Path("sample-folder")
    if get_origin(annotation) is Literal:  # a choice: one that is not the default
        choice = next(value for value in get_args(annotation) if value != field.default)
        return str(choice), choice
    if annotation == list[str]:
        return "http://a.example:1, http://b.example:2/", [
            "http://a.example:1",
            "http://b.example:2",
        ]
    return "sample-value", "sample-value"


def assert_variable_sets_field(
    settings_class: type[BaseSettings],
    env_name: str,
    field_name: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Setting `env_name` changes `field_name` from its default to the value set."""
    clear_ollamon_variables(monkeypatch)
    raw, expected = sample(settings_class.model_fields[field_name])
    assert getattr(settings_class(), field_name) != expected
    monkeypatch.setenv(env_name, raw)
    assert getattr(settings_class(), field_name) == expected


def assert_read_under_no_other_prefix(
    settings_class: type[BaseSettings],
    field_name: str,
    env_names: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Prefix + field name, under any prefix but the listed names, leaves the field unset.

    One exception: for a field with an explicit name, pydantic-settings also reads the
    class's own prefix + field name (a side effect of `populate_by_name`).
    """
    clear_ollamon_variables(monkeypatch)
    field = settings_class.model_fields[field_name]
    raw, expected = sample(field)
    prefixes = set(PREFIXES)
    if field.validation_alias is not None:
        prefixes.discard(str(settings_class.model_config.get("env_prefix", "")))
    accepted = {name for name, listed in env_names.items() if listed == field_name}
    wrong_names = {f"{prefix}{field_name}".upper() for prefix in prefixes} - accepted
    for wrong_name in wrong_names:
        monkeypatch.setenv(wrong_name, raw)
    assert getattr(settings_class(), field_name) != expected, wrong_names
