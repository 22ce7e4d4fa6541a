"""The shared settings keep their public names under any service's prefix."""

from __future__ import annotations

import pytest
from pydantic_settings import SettingsConfigDict

from ollamon_core.settings import ServiceSettings, UrlList, ollama_urls_field
from tests.support.settings_env import (
    OLLAMA_URLS_ENV_NAMES,
    SHARED_ENV_NAMES,
    assert_read_under_no_other_prefix,
    assert_variable_sets_field,
)


class SomeServiceSettings(ServiceSettings):
    """A service with its own prefix, as alerting and storage have."""

    model_config = SettingsConfigDict(env_prefix="OLLAMON_SOME_")

    ollama_urls: UrlList = ollama_urls_field()


ENV_NAMES = {**SHARED_ENV_NAMES, **OLLAMA_URLS_ENV_NAMES}


@pytest.mark.parametrize("settings_class", [ServiceSettings, SomeServiceSettings])
@pytest.mark.parametrize(("env_name", "field_name"), SHARED_ENV_NAMES.items())
def test_each_shared_variable_sets_its_field_whatever_the_prefix(
    settings_class: type[ServiceSettings],
    env_name: str,
    field_name: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert_variable_sets_field(settings_class, env_name, field_name, monkeypatch)


@pytest.mark.parametrize("field_name", sorted(set(ENV_NAMES.values())))
def test_a_shared_field_is_not_read_under_another_services_prefix(
    field_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert_read_under_no_other_prefix(SomeServiceSettings, field_name, ENV_NAMES, monkeypatch)


def test_a_url_list_is_comma_separated_without_trailing_slashes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OLLAMON_OLLAMA_URL", " http://a:1/ ,, http://b:2")
    assert SomeServiceSettings().ollama_urls == ["http://a:1", "http://b:2"]
