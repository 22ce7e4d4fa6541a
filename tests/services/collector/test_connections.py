"""Counting active TCP connections: /proc/net/snmp, the psutil fallback, refusal."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import psutil
import pytest

from ollamon_collector.connections import (
    TcpConnectionCounter,
    count_established,
    parse_tcp_current_established,
)

SNMP_TEXT = "\n".join(
    [
        "Ip: Forwarding DefaultTTL",
        "Ip: 1 64",
        "Tcp: RtoAlgorithm RtoMin RtoMax MaxConn ActiveOpens PassiveOpens AttemptFails "
        "EstabResets CurrEstab InSegs",
        "Tcp: 1 200 120000 -1 57 40 2 0 7 8632",
        "Udp: InDatagrams NoPorts",
        "Udp: 32 0",
    ]
)


def connection(status: str) -> SimpleNamespace:
    return SimpleNamespace(status=status)


def test_current_established_is_read_from_the_tcp_lines_of_proc_net_snmp() -> None:
    assert parse_tcp_current_established(SNMP_TEXT) == 7


def test_a_snmp_text_without_tcp_lines_gives_none() -> None:
    assert parse_tcp_current_established("Ip: Forwarding\nIp: 1\n") is None


def test_only_established_and_close_wait_connections_count() -> None:
    connections = [
        connection(psutil.CONN_ESTABLISHED),
        connection(psutil.CONN_LISTEN),
        connection(psutil.CONN_CLOSE_WAIT),
        connection(psutil.CONN_TIME_WAIT),
    ]
    assert count_established(connections) == 2


def test_the_counter_reads_proc_net_snmp_when_it_exists(tmp_path: Path) -> None:
    snmp = tmp_path / "snmp"
    snmp.write_text(SNMP_TEXT)

    def must_not_be_called(kind: str) -> list[Any]:
        raise AssertionError("psutil.net_connections must not be called")

    counter = TcpConnectionCounter(snmp_path=snmp, list_connections=must_not_be_called)
    assert counter.count() == 7
    assert counter.method == "proc_net_snmp"


def test_without_proc_net_snmp_the_fallback_is_used_and_reused_for_its_interval(
    tmp_path: Path,
) -> None:
    calls: list[str] = []
    now = [100.0]

    def list_connections(kind: str) -> list[SimpleNamespace]:
        calls.append(kind)
        return [connection(psutil.CONN_ESTABLISHED)] * len(calls)

    counter = TcpConnectionCounter(
        snmp_path=tmp_path / "missing",
        list_connections=list_connections,
        fallback_interval_seconds=30.0,
        clock=lambda: now[0],
    )
    assert counter.count() == 1
    now[0] += 10
    assert counter.count() == 1  # cached
    now[0] += 25
    assert counter.count() == 2  # refreshed after the interval
    assert calls == ["tcp", "tcp"]
    assert counter.method == "net_connections"


@pytest.mark.parametrize("refusal", [psutil.AccessDenied(), PermissionError("denied")])
def test_when_the_os_refuses_the_count_is_unavailable_and_not_retried(
    tmp_path: Path, refusal: Exception
) -> None:
    calls: list[str] = []

    def list_connections(kind: str) -> list[Any]:
        calls.append(kind)
        raise refusal

    counter = TcpConnectionCounter(
        snmp_path=tmp_path / "missing", list_connections=list_connections
    )
    assert counter.count() is None
    assert counter.count() is None
    assert calls == ["tcp"]
    assert counter.method == "unavailable"


def test_the_real_counter_of_this_machine_gives_a_count() -> None:
    count = TcpConnectionCounter().count()
    assert count is not None
    assert count >= 0
