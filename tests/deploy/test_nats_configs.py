"""deploy/nats: the deploy's NATS configuration, tried with the real nats-server.

`auth.conf` is the permission table (`ollamon nats-config`), the compose server requires TLS
and a login, the cluster nodes are valid configurations with TLS between them, and the
certificate recipe (`make-certs.sh`) makes certificates the server and nats-py accept.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import nats
import nats.errors
import pytest
from pydantic import SecretStr

from ollamon_cli.nats_config import deploy_authorization, password_variable
from ollamon_cli.nats_server import NatsServer, find_nats_server_binary
from ollamon_core.bus import Bus, NatsLogin
from ollamon_core.events import ServiceName
from ollamon_core.permissions import hub_user_permissions, user_permissions

ROOT = Path(__file__).resolve().parents[2]
NATS_DEPLOY = ROOT / "deploy" / "nats"
CONTAINER_CERTS = "/etc/nats/certs"
CLUSTER_NODES = sorted(NATS_DEPLOY.glob("nats-*.conf"))
HUB_NODES = {node.name for node in CLUSTER_NODES}

needs_openssl = pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl missing")


def test_auth_conf_is_the_permission_table() -> None:
    assert (NATS_DEPLOY / "auth.conf").read_text() == deploy_authorization(), (
        "run: .venv/bin/ollamon nats-config > deploy/nats/auth.conf"
    )


def test_hub_auth_conf_is_the_permission_table_with_the_edges_leaf_user() -> None:
    assert (NATS_DEPLOY / "hub-auth.conf").read_text() == deploy_authorization(
        hub_user_permissions()
    ), "run: .venv/bin/ollamon nats-config --role hub > deploy/nats/hub-auth.conf"


def test_auth_conf_holds_no_password_only_the_variables_naming_them() -> None:
    text = (NATS_DEPLOY / "auth.conf").read_text()
    passwords = re.findall(r"password: (\S+)", text)
    assert passwords == [f"${password_variable(user)}" for user in user_permissions()]


@pytest.mark.parametrize("conf", ["compose.conf", *(node.name for node in CLUSTER_NODES)])
def test_every_server_requires_tls_and_the_logins_of_auth_conf(conf: str) -> None:
    text = (NATS_DEPLOY / conf).read_text()
    assert ("include hub-auth.conf" if conf in HUB_NODES else "include auth.conf") in text
    assert f'cert_file: "{CONTAINER_CERTS}/server-cert.pem"' in text
    assert f'key_file: "{CONTAINER_CERTS}/server-key.pem"' in text


@pytest.mark.parametrize("node", CLUSTER_NODES, ids=lambda node: node.name)
def test_cluster_nodes_monitor_on_loopback_and_admit_routes_by_certificate(node: Path) -> None:
    text = node.read_text()
    assert "http: 127.0.0.1:8222" in text
    cluster = text[text.index("cluster {") :]
    assert "verify: true" in cluster
    assert f'ca_file: "{CONTAINER_CERTS}/ca.pem"' in cluster


@pytest.mark.parametrize("node", CLUSTER_NODES, ids=lambda node: node.name)
def test_hub_nodes_take_the_edges_leaf_links_over_tls_in_the_hub_domain(node: Path) -> None:
    text = node.read_text()
    assert "domain: hub" in text
    leafnodes = text[text.index("leafnodes {") : text.index("include hub-auth.conf")]
    assert "no_advertise: true" in leafnodes
    assert f'cert_file: "{CONTAINER_CERTS}/server-cert.pem"' in leafnodes


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("openssl") is None:
        pytest.skip("openssl missing")
    folder = tmp_path_factory.mktemp("certs")
    subprocess.run(["sh", str(NATS_DEPLOY / "make-certs.sh"), str(folder)], check=True)
    return folder


def local_copy(conf: str, certs: Path, folder: Path, *, store: bool = True) -> Path:
    """The configuration beside auth.conf, with the container's certificates at `certs` and
    its JetStream store in `folder` (or none: `NatsServer` names its own)."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(NATS_DEPLOY / "auth.conf", folder / "auth.conf")
    shutil.copy(NATS_DEPLOY / "hub-auth.conf", folder / "hub-auth.conf")
    text = (NATS_DEPLOY / conf).read_text().replace(CONTAINER_CERTS, str(certs))
    store_dir = f'store_dir: "{folder / "data"}"' if store else ""
    text = re.sub(r"store_dir: \S+", store_dir, text)
    (folder / conf).write_text(text)
    return folder / conf


@pytest.fixture
def passwords(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Every user's password in the environment, as compose hands them to the server."""
    chosen = {user: f"{user}-password" for user in hub_user_permissions()}
    for user, password in chosen.items():
        monkeypatch.setenv(password_variable(user), password)
    return chosen


@pytest.fixture
def compose_server(certs: Path, tmp_path: Path, passwords: dict[str, str]) -> Iterator[NatsServer]:
    config = local_copy("compose.conf", certs, tmp_path / "conf", store=False)
    with NatsServer(tmp_path / "store", config_file=config) as server:
        yield server


@needs_openssl
async def test_services_log_in_over_tls_with_their_passwords_and_the_ca(
    compose_server: NatsServer, certs: Path, passwords: dict[str, str]
) -> None:
    url = f"tls://127.0.0.1:{compose_server.port}"
    buses = []
    try:
        for service in (ServiceName.STORAGE, ServiceName.PROBE):
            login = NatsLogin(service.value, SecretStr(passwords[service.value]), certs / "ca.pem")
            buses.append(await Bus.connect(url, service, login=login))
        storage, probe = buses
        await storage.ensure_streams(update_existing=True)  # storage creates the streams
        await probe.ensure_streams()  # the probe finds them
        assert all(bus.nc.is_connected for bus in buses)
        assert [bus.counters["permission_errors"] for bus in buses] == [0, 0]
    finally:
        for bus in buses:
            await bus.close()


@needs_openssl
async def test_the_compose_server_refuses_a_client_without_the_password(
    compose_server: NatsServer, certs: Path
) -> None:
    tls = NatsLogin(tls_ca=certs / "ca.pem")
    url = f"tls://127.0.0.1:{compose_server.port}"
    with pytest.raises(nats.errors.Error, match=re.compile("authorization", re.IGNORECASE)):
        await nats.connect(url, allow_reconnect=False, **(await tls.options()))
    wrong = NatsLogin("gateway", SecretStr("guess"), certs / "ca.pem")
    with pytest.raises(nats.errors.Error, match=re.compile("authorization", re.IGNORECASE)):
        await nats.connect(url, allow_reconnect=False, **(await wrong.options()))


@needs_openssl
async def test_the_compose_server_refuses_a_client_that_does_not_trust_its_ca(
    compose_server: NatsServer, passwords: dict[str, str]
) -> None:
    url = f"tls://127.0.0.1:{compose_server.port}"
    with pytest.raises(Exception, match=re.compile("certificate", re.IGNORECASE)):
        await nats.connect(url, user="probe", password=passwords["probe"], allow_reconnect=False)


@needs_openssl
@pytest.mark.parametrize("node", CLUSTER_NODES, ids=lambda node: node.name)
def test_each_cluster_node_is_a_valid_configuration(
    node: Path, certs: Path, tmp_path: Path, passwords: dict[str, str]
) -> None:
    config = local_copy(node.name, certs, tmp_path)
    result = subprocess.run(
        [str(find_nats_server_binary()), "-t", "-c", str(config)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr


@needs_openssl
def test_the_edge_is_a_valid_leaf_node_of_the_hub_in_its_own_domain(
    certs: Path, tmp_path: Path, passwords: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OLLAMON_JETSTREAM_DOMAIN", "edge-gpu-a")
    for node in (1, 2, 3):
        monkeypatch.setenv(
            f"OLLAMON_HUB_LEAF_URL_{node}", f"nats-leaf://leaf:secret@nats-{node}:7422"
        )
    config = local_copy("edge.conf", certs, tmp_path)
    result = subprocess.run(
        [str(find_nats_server_binary()), "-t", "-c", str(config)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    text = config.read_text()
    assert "listen: 127.0.0.1:4222" in text
    assert "include auth.conf" in text
