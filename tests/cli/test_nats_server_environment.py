"""`ollamon up`'s nats-server runs Go's scheduler on one CPU unless the user chose otherwise."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from ollamon_cli.handover import HandOver, server_state
from ollamon_cli.nats_server import NatsServer, embedded_environment


def test_the_embedded_server_gets_one_cpu_unless_gomaxprocs_is_set() -> None:
    assert embedded_environment({}) == {"GOMAXPROCS": "1"}
    assert embedded_environment({"GOMAXPROCS": "4"}) == {"GOMAXPROCS": "4"}


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/<pid>/environ")
def test_a_server_started_with_an_environment_runs_with_it(tmp_path: Path) -> None:
    with NatsServer(tmp_path / "nats", environment={"GOMAXPROCS": "1"}) as server:
        assert server.process is not None
        environ = Path(f"/proc/{server.process.pid}/environ").read_bytes().split(b"\0")
    assert b"GOMAXPROCS=1" in environ


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the hand-over is Linux's")
def test_the_slim_supervisor_restarts_the_server_with_its_environment(tmp_path: Path) -> None:
    with NatsServer(tmp_path / "nats", environment={"GOMAXPROCS": "1"}) as server:
        state = server_state(server)
        assert state is not None
        handed = HandOver(0, -1, [], state)
        adopted = HandOver.from_json(handed.to_json()).server
        assert adopted is not None and adopted.environment == {"GOMAXPROCS": "1"}
