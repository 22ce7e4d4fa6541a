"""`python -m ollamon_cli.services`: each named service with its own settings and NATS user."""

from __future__ import annotations

import pytest

from ollamon_cli.nats_config import password_variable
from ollamon_cli.services import ENTRIES, hosted_services
from ollamon_cli.stack_services import SERVICE_ORDER
from ollamon_core.events import ServiceName
from ollamon_gateway.settings import GatewaySettings
from ollamon_probe.settings import ProbeSettings


def test_every_service_of_the_stack_can_share_the_process() -> None:
    assert set(ENTRIES) == set(SERVICE_ORDER)


def test_each_service_logs_in_as_itself_with_the_password_its_variable_holds() -> None:
    environ = {password_variable("probe"): "probe-secret", password_variable("gateway"): "gw"}
    probe, gateway = hosted_services(["probe", "gateway"], environ)
    assert (probe.service, gateway.service) == (ServiceName.PROBE, ServiceName.GATEWAY)
    assert isinstance(probe.settings, ProbeSettings)
    assert isinstance(gateway.settings, GatewaySettings)
    assert probe.settings.nats_user == "probe"
    assert probe.settings.nats_password is not None
    assert probe.settings.nats_password.get_secret_value() == "probe-secret"
    assert gateway.settings.nats_user == "gateway"


def test_a_service_without_its_password_reads_the_shared_login_as_when_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OLLAMON_NATS_USER", "operator")
    (collector,) = hosted_services(["collector"], {})
    assert collector.settings.nats_user == "operator"


def test_each_service_reads_its_own_settings_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OLLAMON_GATEWAY_PORT", "8123")
    monkeypatch.setenv("OLLAMON_PROXY_PORT", "11999")
    probe, gateway = hosted_services(["probe", "gateway"], {})
    assert isinstance(probe.settings, ProbeSettings)
    assert isinstance(gateway.settings, GatewaySettings)
    assert (probe.settings.proxy_port, gateway.settings.gateway_port) == (11999, 8123)


def test_an_unknown_service_is_refused_by_name() -> None:
    with pytest.raises(SystemExit, match=r"unknown service.*: mailer"):
        hosted_services(["probe", "mailer"], {})
