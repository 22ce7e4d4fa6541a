"""Once the stack is up, `ollamon up` hands it to the slim supervisor in the same process."""

from __future__ import annotations

from pathlib import Path

import psutil
import pytest

from ollamon_cli.nats_server import free_port
from tests.support.stack import processes_by_service, start_stack, stop_stack
from tests.support.waiting import wait_until

pytestmark = pytest.mark.timeout(120)

# Compiled extensions the services import and the supervisor must not hold once up.
SERVICE_EXTENSIONS = ("_pydantic_core", "uvloop", "_sqlite3", "msgspec")


def mapped_files(pid: int) -> str:
    return Path(f"/proc/{pid}/maps").read_text()


def test_once_up_the_supervisor_is_the_stdlib_program_watching_the_same_children(
    tmp_path: Path,
) -> None:
    stack = start_stack(tmp_path / "data", f"http://127.0.0.1:{free_port()}")
    try:
        root = psutil.Process(stack.process.pid)
        wait_until(
            lambda: "ollamon_cli.watch" in root.cmdline(), timeout=10, message="the hand-over"
        )
        maps = mapped_files(root.pid)
        assert not [name for name in SERVICE_EXTENSIONS if name in maps]
        children = {child.pid for child in root.children()}
        services = processes_by_service(stack)
        assert {process.pid for process in services.values()} <= children
        assert len(children) == 2  # the services' one process and nats-server
    finally:
        assert stop_stack(stack) == 0
    assert "ollamon: services stopped" in stack.text()
    assert "ollamon: nats-server stopped" in stack.text()
