"""`ollamon up --role`: what each role runs, and the NATS configuration of a hub node and an
edge, tried with the real nats-server (`nats-server -t`). The fleet itself runs in
tests/fleet."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from pathlib import Path

import nats
import pytest
from nats.js import api
from pydantic import SecretStr

from ollamon_cli.credentials import load_or_create_credentials
from ollamon_cli.fleet_node import node_server, prepare_external, write_node_config
from ollamon_cli.nats_config import password_variable
from ollamon_cli.nats_server import NatsServer, find_nats_server_binary, free_port
from ollamon_cli.preflight import PreflightError
from ollamon_cli.settings import StackSettings
from ollamon_cli.stack import SERVICE_ORDER, stack_ports
from ollamon_cli.topology import (
    NODE_CONFIG_FILE,
    Role,
    ServerTls,
    domain_api,
    edge_domain,
    edge_source,
    hub_node_config,
    hub_stream_subjects,
    leaf_url,
    merged_sources,
    role_services,
)
from ollamon_core import subjects
from ollamon_core.permissions import ADMIN_USER, LEAF_USER, hub_user_permissions

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> ServerTls:
    if shutil.which("openssl") is None:
        pytest.skip("openssl missing")
    folder = tmp_path_factory.mktemp("certs")
    subprocess.run(
        ["sh", str(ROOT / "deploy" / "nats" / "make-certs.sh"), str(folder)],
        check=True,
        capture_output=True,
    )
    return ServerTls(folder / "server-cert.pem", folder / "server-key.pem", folder / "ca.pem")


def valid(config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(find_nats_server_binary()), "-t", "-c", str(config)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_an_edge_runs_the_probe_and_collector_and_a_hub_every_other_service() -> None:
    edge, hub = role_services(Role.EDGE, SERVICE_ORDER), role_services(Role.HUB, SERVICE_ORDER)
    assert set(edge) == {"collector", "probe"}
    assert sorted(edge + hub) == sorted(SERVICE_ORDER)
    assert role_services(Role.ALL, SERVICE_ORDER) == SERVICE_ORDER


def test_the_hub_stream_never_captures_what_it_sources_from_the_edges() -> None:
    captured = hub_stream_subjects()
    assert not set(captured) & set(subjects.EDGE_STREAM_SUBJECTS)
    assert sorted(captured + subjects.EDGE_STREAM_SUBJECTS) == sorted(
        subjects.STREAM_EVENTS_SUBJECTS
    )


def test_a_hub_keeps_the_edges_it_sources_and_adds_the_configured_ones_once() -> None:
    existing = [edge_source("edge-old")]
    sources = merged_sources(existing, ["edge-new", "edge-old", "edge-new"])
    assert [s.external.api for s in sources if s.external] == [
        domain_api("edge-old"),
        domain_api("edge-new"),
    ]
    assert all(s.name == subjects.STREAM_EVENTS for s in sources)
    assert isinstance(sources[0], api.StreamSource)


def test_an_edge_domain_is_its_host_label_made_one_subject_token() -> None:
    assert edge_domain("gpu.box 1") == "edge-gpu_box_1"
    assert edge_domain("gpu-a", "site-7") == "site-7"


def test_the_leaf_login_is_quoted_into_every_hub_address() -> None:
    assert leaf_url("nats-leaf://hub-1:7422", "p@ss/w") == "nats-leaf://leaf:p%40ss%2Fw@hub-1:7422"
    assert leaf_url("hub-2:7422", "pw") == "nats-leaf://leaf:pw@hub-2:7422"


def test_a_hub_node_with_tls_routes_and_leaf_links_is_a_valid_configuration(
    tmp_path: Path, certs: ServerTls
) -> None:
    credentials = load_or_create_credentials(tmp_path, hub_user_permissions())
    assert LEAF_USER in credentials.passwords
    assert f'user: "{LEAF_USER}"' in credentials.server_config.read_text()
    config = credentials.folder / NODE_CONFIG_FILE
    config.write_text(
        hub_node_config(
            server_name="hub-1",
            cluster_port=6222,
            routes=["nats-route://127.0.0.1:6222", "nats-route://127.0.0.1:6223"],
            leafnode_port=7422,
            tls=certs,
            include=credentials.server_config.name,
        )
    )
    text = config.read_text()
    assert "verify: true" in text.split("leafnodes")[0]  # routes need a certificate
    assert "no_advertise: true" in text
    result = valid(config)
    assert result.returncode == 0, result.stderr


def test_an_edge_without_its_hub_is_refused_with_the_settings_named(tmp_path: Path) -> None:
    settings = StackSettings(storage_path=tmp_path, host_label="gpu-a")
    with pytest.raises(PreflightError, match="OLLAMON_HUB_LEAF_URLS"):
        node_server(settings, Role.EDGE)


def test_an_edge_links_to_every_hub_node_over_tls_and_is_a_valid_configuration(
    tmp_path: Path, certs: ServerTls
) -> None:
    settings = StackSettings(
        storage_path=tmp_path,
        host_label="gpu-a",
        hub_leaf_urls=["nats-leaf://127.0.0.1:7422", "nats-leaf://127.0.0.1:7423"],
        leaf_password=SecretStr("leaf-secret"),
        fleet_tls_ca=certs.ca,
    )
    credentials = load_or_create_credentials(tmp_path)
    write_node_config(settings, Role.EDGE, credentials)
    config = credentials.folder / NODE_CONFIG_FILE
    text = config.read_text()
    assert 'domain: "edge-gpu-a"' in text
    assert text.count("leaf:leaf-secret@127.0.0.1") == 2
    assert config.stat().st_mode & 0o777 == 0o600
    result = valid(config)
    assert result.returncode == 0, result.stderr


def test_a_hub_node_beyond_loopback_without_a_certificate_is_refused(tmp_path: Path) -> None:
    settings = StackSettings(storage_path=tmp_path, cluster_host="0.0.0.0")
    with pytest.raises(PreflightError, match="OLLAMON_FLEET_TLS_CERT"):
        node_server(settings, Role.HUB)


async def hub_stream(url: str, password: str) -> api.StreamConfig:
    nc = await nats.connect(url, user=ADMIN_USER, password=password)
    try:
        js = nc.jetstream()
        await js.key_value(subjects.ALERT_STATE_BUCKET)  # the bucket is there too
        return (await js.stream_info(subjects.STREAM_EVENTS)).config
    finally:
        await nc.close()


def test_a_hub_on_the_operators_own_servers_gets_its_streams_from_the_admin(
    tmp_path: Path,
) -> None:
    credentials = load_or_create_credentials(tmp_path / "hub", hub_user_permissions())
    config = credentials.folder / NODE_CONFIG_FILE
    config.write_text(
        hub_node_config(
            server_name="hub-1",
            cluster_port=0,
            routes=[],
            leafnode_port=free_port(),
            tls=None,
            include=credentials.server_config.name,
        )
    )
    admin = credentials.passwords[ADMIN_USER]
    with NatsServer(tmp_path / "store", config_file=config) as server:
        settings = StackSettings(nats_url=server.url, fleet_edges=["edge-gpu-a"])
        with pytest.raises(PreflightError, match=password_variable(ADMIN_USER)):
            prepare_external(settings, Role.HUB, environ={})
        prepare_external(settings, Role.HUB, environ={password_variable(ADMIN_USER): admin})
        stream = asyncio.run(hub_stream(server.url, admin))
    assert sorted(stream.subjects or []) == sorted(hub_stream_subjects())
    assert [s.external.api for s in stream.sources or [] if s.external] == [
        domain_api("edge-gpu-a")
    ]


def test_each_role_checks_only_the_addresses_it_serves() -> None:
    settings = StackSettings(cluster_routes=["nats-route://127.0.0.1:6222"])
    edge = {port.setting for port in stack_ports(settings, Role.EDGE).values()}
    hub = {port.setting for port in stack_ports(settings, Role.HUB).values()}
    assert edge == {"OLLAMON_PROXY_PORT", "OLLAMON_EMBEDDED_NATS_PORT"}
    assert hub == {
        "OLLAMON_GATEWAY_PORT",
        "OLLAMON_EMBEDDED_NATS_PORT",
        "OLLAMON_LEAFNODE_PORT",
        "OLLAMON_CLUSTER_PORT",
    }
