"""Every command ends the way a script can rely on: an exit status, one line on failure."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from ollamon_cli.nats_server import free_port
from tests.cli.commands import OLLAMON, command_environment, run_ollamon
from tests.support.nats_auth import authorized_nats_server

# Commands that need NATS must say so within a few seconds (the connect deadline is 3 s).
NATS_DEADLINE_SECONDS = 8.0


@pytest.fixture
def dead_nats_url() -> str:
    """A loopback port nothing listens on."""
    return f"nats://127.0.0.1:{free_port()}"


@pytest.mark.parametrize("command", [["backup"], ["alerts", "--severity", "high"]])
def test_a_command_needing_nats_fails_fast_with_one_line_naming_the_url_and_setting(
    command: list[str], dead_nats_url: str, tmp_path: Path
) -> None:
    started = time.monotonic()
    result = run_ollamon(*command, cwd=tmp_path, env={"OLLAMON_NATS_URL": dead_nats_url})
    elapsed = time.monotonic() - started
    assert result.returncode == 1
    assert elapsed < NATS_DEADLINE_SECONDS
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert dead_nats_url in lines[0]
    assert "OLLAMON_NATS_URL" in lines[0]


def test_without_a_nats_url_the_line_names_the_embedded_servers_port_setting(
    tmp_path: Path,
) -> None:
    port = free_port()
    result = run_ollamon("backup", cwd=tmp_path, env={"OLLAMON_EMBEDDED_NATS_PORT": str(port)})
    assert result.returncode == 1
    assert f"nats://127.0.0.1:{port}" in result.stderr
    assert "OLLAMON_EMBEDDED_NATS_PORT" in result.stderr
    assert "Traceback" not in result.stderr


def test_selftest_against_a_dead_url_exits_1_with_a_summary_line(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    result = run_ollamon("selftest", "--url", url, "--out", str(tmp_path), cwd=tmp_path)
    assert result.returncode == 1
    summary = result.stdout.splitlines()[-1]
    assert summary.startswith("selftest FAILED: 0/")
    assert f"failed against {url}" in summary
    assert "nothing answered there: --url" in summary
    assert list(tmp_path.glob("selftest-*.json"))


@pytest.mark.parametrize("command", [["status"], ["top"]])
def test_status_and_top_without_a_gateway_fail_with_one_line_naming_the_url_and_setting(
    command: list[str], tmp_path: Path
) -> None:
    port = free_port()
    result = run_ollamon(*command, cwd=tmp_path, env={"OLLAMON_GATEWAY_PORT": str(port)})
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert f"http://127.0.0.1:{port}" in lines[0]
    assert "OLLAMON_GATEWAY_PORT" in lines[0]


@pytest.mark.parametrize("command", [["settings"], ["settings", "--reference"], ["--help"]])
def test_a_closed_pipe_ends_the_command_quietly_with_status_0(
    command: list[str], tmp_path: Path
) -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before the first byte (`| head -0`)
    try:
        process = subprocess.run(
            [*OLLAMON, *command],
            cwd=tmp_path,
            env=command_environment(tmp_path),
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=30,
            check=False,
        )
    finally:
        os.close(write_end)
    assert process.stderr == ""
    assert process.returncode == 0


def test_a_refused_login_is_one_line_naming_the_user_and_where_its_password_came_from(
    tmp_path: Path,
) -> None:
    with authorized_nats_server(tmp_path / "data") as nats_server:
        started = time.monotonic()
        result = run_ollamon(
            "backup",
            cwd=tmp_path,
            env={
                "OLLAMON_NATS_URL": nats_server.url,
                "OLLAMON_NATS_USER": "cli",
                "OLLAMON_NATS_PASSWORD": "not-the-password",
            },
        )
        elapsed = time.monotonic() - started
    assert result.returncode == 1
    assert elapsed < NATS_DEADLINE_SECONDS
    assert result.stderr == (
        f"ollamon: NATS at {nats_server.url} refused the login of user 'cli' "
        "(OLLAMON_NATS_USER, OLLAMON_NATS_PASSWORD)\n"
    )


def test_backup_logs_in_with_the_stacks_credentials_and_says_when_storage_is_not_there(
    tmp_path: Path,
) -> None:
    # The credentials `ollamon up` keeps under the storage path (tmp_path / "data").
    with authorized_nats_server(tmp_path / "data") as nats_server:
        result = run_ollamon("backup", cwd=tmp_path, env={"OLLAMON_NATS_URL": nats_server.url})
    assert result.returncode == 1
    assert result.stderr.startswith(
        "ollamon: storage did not answer on ollamon.query.backup (no responders)"
    )
