"""What `ollamon up` runs the services as: one process by default, or one per service."""

from __future__ import annotations

import sys
from pathlib import Path

from ollamon_cli.credentials import load_or_create_credentials
from ollamon_cli.nats_config import password_variable
from ollamon_cli.ports import ServedPort
from ollamon_cli.settings import StackSettings
from ollamon_cli.stack_services import SERVICE_ORDER, StackNats, stack_specs

PORTS = {
    "gateway": ServedPort("gateway", "127.0.0.1", 8000, "OLLAMON_GATEWAY_PORT"),
    "probe": ServedPort("Ollama proxy", "127.0.0.1", 11435, "OLLAMON_PROXY_PORT"),
}


def test_by_default_the_services_share_one_process() -> None:
    assert StackSettings().processes == "one"


def test_the_one_process_gets_every_service_its_own_password_and_none_in_its_command_line(
    tmp_path: Path,
) -> None:
    credentials = load_or_create_credentials(tmp_path)
    stack_nats = StackNats("nats://127.0.0.1:1", credentials=credentials)
    (spec,) = stack_specs("one", stack_nats, {"EXTRA": "1"}, PORTS)
    assert spec.argv == [sys.executable, "-m", "ollamon_cli.services", *SERVICE_ORDER]
    for name in SERVICE_ORDER:
        assert spec.env[password_variable(name)] == credentials.passwords[name]
    assert "OLLAMON_NATS_USER" not in spec.env
    assert not any(password in " ".join(spec.argv) for password in credentials.passwords.values())
    assert (spec.env["OLLAMON_NATS_URL"], spec.env["EXTRA"]) == ("nats://127.0.0.1:1", "1")
    assert [port.setting for port in spec.ports] == ["OLLAMON_PROXY_PORT", "OLLAMON_GATEWAY_PORT"]


def test_the_one_process_of_an_edge_runs_only_the_edges_services() -> None:
    (spec,) = stack_specs("one", StackNats("nats://127.0.0.1:1"), {}, PORTS, ("collector", "probe"))
    assert spec.argv[-2:] == ["collector", "probe"]
    assert [port.setting for port in spec.ports] == ["OLLAMON_PROXY_PORT"]


def test_separate_processes_run_one_module_per_service_as_before(tmp_path: Path) -> None:
    credentials = load_or_create_credentials(tmp_path)
    specs = stack_specs("separate", StackNats("nats://127.0.0.1:1", credentials=credentials), {})
    assert [spec.argv[-1] for spec in specs] == [f"ollamon_{name}" for name in SERVICE_ORDER]
    assert all(spec.env["OLLAMON_NATS_USER"] == spec.name for spec in specs)
