"""Each public variable of the notifier settings reaches its field, and no other prefix does."""

from __future__ import annotations

from pathlib import Path

import pytest

from ollamon_notifier.settings import NotifierSettings
from tests.support.settings_env import (
    SHARED_ENV_NAMES,
    assert_read_under_no_other_prefix,
    assert_variable_sets_field,
)

# Variable -> field: the public names (README's configuration table).
ENV_NAMES = {
    **SHARED_ENV_NAMES,
    "OLLAMON_ALERT_WEBHOOK_URLS": "webhook_urls",
    "OLLAMON_ALERT_WEBHOOK_SECRET": "webhook_secret",
    "OLLAMON_NOTIFIER_ROUTES_FILE": "routes_file",
    "OLLAMON_NOTIFIER_REPEAT_INTERVAL_SECONDS": "repeat_interval_seconds",
    "OLLAMON_NOTIFIER_ALERTMANAGER_RESEND_SECONDS": "alertmanager_resend_seconds",
    "OLLAMON_NOTIFIER_RETRY_INITIAL_SECONDS": "retry_initial_seconds",
    "OLLAMON_NOTIFIER_RETRY_MAX_SECONDS": "retry_max_seconds",
    "OLLAMON_NOTIFIER_GIVE_UP_SECONDS": "give_up_seconds",
    "OLLAMON_NOTIFIER_TIMEOUT_SECONDS": "timeout_seconds",
}


def test_every_field_is_listed_under_a_public_name() -> None:
    assert set(ENV_NAMES.values()) == set(NotifierSettings.model_fields)


@pytest.mark.parametrize(("env_name", "field_name"), ENV_NAMES.items())
def test_each_public_variable_sets_its_field(
    env_name: str, field_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert_variable_sets_field(NotifierSettings, env_name, field_name, monkeypatch)


@pytest.mark.parametrize("field_name", sorted(set(ENV_NAMES.values())))
def test_no_field_is_read_under_another_prefix(
    field_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert_read_under_no_other_prefix(NotifierSettings, field_name, ENV_NAMES, monkeypatch)


def test_webhook_urls_are_comma_separated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OLLAMON_ALERT_WEBHOOK_URLS", "http://a:1/x, https://b/y?token=t")
    assert NotifierSettings().webhook_urls == ["http://a:1/x", "https://b/y?token=t"]


def test_an_empty_variable_means_none_as_compose_passes_an_unset_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OLLAMON_NOTIFIER_ROUTES_FILE", "")
    monkeypatch.setenv("OLLAMON_ALERT_WEBHOOK_SECRET", "")
    settings = NotifierSettings()
    assert settings.routes_file is None
    assert settings.webhook_secret is None
    monkeypatch.setenv("OLLAMON_NOTIFIER_ROUTES_FILE", "/etc/routes.yaml")
    assert NotifierSettings().routes_file == Path("/etc/routes.yaml")
