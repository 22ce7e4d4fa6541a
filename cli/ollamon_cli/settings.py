"""Settings of the `ollamon` command, read from `OLLAMON_*` variables."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr

from ollamon_core.settings import (
    OptionalText,
    ServiceSettings,
    UrlList,
    api_token_field,
    nats_url_field,
    ollama_urls_field,
    storage_path_field,
)


class StackSettings(ServiceSettings):
    """Settings of `ollamon up`, the one-machine launcher, and the commands that talk to it.

    It reads the addresses (and token) the services it starts will use, so that it can
    print them and call them.
    """

    nats_url: str = nats_url_field(default="")
    storage_path: Path = storage_path_field()
    embedded_nats_port: int = Field(
        default=4222,
        ge=0,
        le=65535,
        description="Port of the embedded NATS server when OLLAMON_NATS_URL is not set",
    )
    ollama_urls: UrlList = ollama_urls_field()
    proxy_host: str = Field(default="127.0.0.1", description="Address the Ollama proxy binds")
    proxy_port: int = Field(default=11435, ge=0, le=65535, description="Port of the Ollama proxy")
    gateway_host: str = Field(default="127.0.0.1", description="Address the gateway binds")
    gateway_port: int = Field(default=8000, ge=0, le=65535, description="Port of the gateway")
    api_token: OptionalText = api_token_field()
    processes: Literal["one", "separate"] = Field(
        default="one",
        description="`one`: the services share one Python process (each its own lifespan, "
        "settings and NATS user); `separate`: one process per service "
        "(`ollamon up --processes`; docs/decisions/0022-one-process.md)",
    )
    max_restarts: int = Field(
        default=5,
        ge=0,
        description="Restarts of a crashed service within 60 s before the stack stops",
    )
    # The fleet (`ollamon up --role edge|hub`; docs/decisions/0011-fleet-topology.md).
    jetstream_domain: str = Field(
        default="",
        description="JetStream domain of the embedded server with --role hub (default `hub`) "
        "or edge (default `edge-<host label>`, which the hub lists in OLLAMON_FLEET_EDGES)",
    )
    hub_leaf_urls: UrlList = Field(
        default=[],
        description="Edge: every hub node's leaf-node address, comma-separated "
        "(`nats-leaf://nats-1:7422,...`); the edge's NATS server links to one of them",
    )
    leaf_password: SecretStr | None = Field(
        default=None,
        validation_alias="OLLAMON_NATS_PASSWORD_LEAF",
        description="Edge: the hub's `leaf` password (in the hub's nats-auth/credentials.json)",
    )
    fleet_edges: UrlList = Field(
        default=[],
        description="Hub: the edges' JetStream domains, comma-separated, whose streams the "
        "hub's stream sources (an edge's banner names its domain)",
    )
    nats_server_name: str = Field(
        default="",
        description="Name of the embedded NATS server (default: the role and the host label)",
    )
    cluster_host: str = Field(
        default="127.0.0.1",
        description="Hub: address of the cluster routes and leaf-node links (TLS is required "
        "beyond loopback: OLLAMON_FLEET_TLS_CERT and OLLAMON_FLEET_TLS_KEY)",
    )
    cluster_port: int = Field(
        default=6222, ge=0, le=65535, description="Hub: port of the cluster routes"
    )
    cluster_routes: UrlList = Field(
        default=[],
        description="Hub: the three nodes' routes, comma-separated "
        "(`nats-route://nats-1:6222,...`); none: a hub of one node",
    )
    leafnode_port: int = Field(
        default=7422, ge=0, le=65535, description="Hub: port the edges' leaf links connect to"
    )
    stream_replicas: int = Field(
        default=1,
        ge=1,
        description="Hub: replicas of the streams and of alerting's bucket (3 on a three-node hub)",
    )
    fleet_tls_cert: Path | None = Field(
        default=None,
        description="Hub: the node's certificate (PEM) for its routes and the edges' leaf "
        "links (the services' own connections stay on loopback)",
    )
    fleet_tls_key: Path | None = Field(
        default=None, description="Hub: the key of OLLAMON_FLEET_TLS_CERT"
    )
    fleet_tls_ca: Path | None = Field(
        default=None,
        description="The CA (PEM) of the fleet's links: a hub node admits routes with a "
        "certificate it signed, an edge checks the hub's leaf certificate with it",
    )
