"""docker-compose.yml cannot run here (no Docker engine): check it against the code instead."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import AliasChoices

from deploy.requirements_from_pyproject import third_party_requirements
from ollamon_cli.settings_table import settings_classes

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ["collector", "probe", "alerting", "storage", "gateway"]


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def accepted_env_names(service: str) -> set[str]:
    names: set[str] = set()
    settings_class = settings_classes()[service]
    prefix = str(settings_class.model_config.get("env_prefix", ""))
    for field_name, field in settings_class.model_fields.items():
        alias = field.validation_alias
        if isinstance(alias, AliasChoices):
            names.update(str(choice) for choice in alias.choices)
        elif isinstance(alias, str):
            names.add(alias)
        else:
            names.add(f"{prefix}{field_name}".upper())
    return names


def test_nats_runs_with_jetstream(compose: dict[str, Any]) -> None:
    nats = compose["services"]["nats"]
    assert nats["image"].startswith("nats:")
    assert "-js" in nats["command"]


@pytest.mark.parametrize("service", SERVICES)
def test_each_service_runs_its_own_module(compose: dict[str, Any], service: str) -> None:
    entry = compose["services"][service]
    assert entry["command"] == ["python", "-m", f"ollamon_{service}"]
    assert importlib.util.find_spec(f"ollamon_{service}.__main__") is not None


@pytest.mark.parametrize("service", SERVICES)
def test_each_service_environment_names_real_settings(
    compose: dict[str, Any], service: str
) -> None:
    environment = compose["services"][service]["environment"]
    unknown = set(environment) - accepted_env_names(service)
    assert not unknown, f"{service} sets variables its settings do not read: {unknown}"
    assert "OLLAMON_NATS_URL" in environment


@pytest.mark.parametrize("service", SERVICES)
def test_each_dockerfile_builds_that_service(compose: dict[str, Any], service: str) -> None:
    build = compose["services"][service]["build"]
    dockerfile = ROOT / build["dockerfile"]
    text = dockerfile.read_text()
    cmd = json.loads(re.search(r"^CMD (.+)$", text, re.MULTILINE).group(1))  # type: ignore[union-attr]
    assert cmd == compose["services"][service]["command"]
    assert f"services/{service}" in text


@pytest.mark.parametrize("service", SERVICES)
def test_the_dependency_layer_lists_third_party_packages_only(service: str) -> None:
    requirements = third_party_requirements(
        [str(ROOT / "libs/ollamon-core"), str(ROOT / "services" / service)]
    )
    assert requirements
    assert not any(r.startswith("ollamon") for r in requirements)
    assert any(r.startswith("nats-py") for r in requirements)
