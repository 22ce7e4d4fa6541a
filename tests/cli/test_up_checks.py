"""`ollamon up` refuses what would break a running stack, one line each, and says where
Ollama stands: a second stack on the same data, a port another program holds, a foreign
program answering on the gateway's port, an Ollama that is not there."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from ollamon_cli.nats_server import free_port
from ollamon_cli.preflight import STATUS_PATH, gateway_is_ours
from tests.support.stack import RunningStack, run_until_exit, start_stack, stop_stack
from tests.support.waiting import wait_until

pytestmark = pytest.mark.timeout(120)

SECRET = "s3cret-in-url"


@pytest.fixture(scope="module")
def running_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    """One `ollamon up` whose Ollama (with a password in its URL) is not running."""
    ollama_url = f"http://user:{SECRET}@127.0.0.1:{free_port()}"
    stack = start_stack(tmp_path_factory.mktemp("up") / "data", ollama_url)
    yield stack
    assert stop_stack(stack) == 0


def output_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.strip()]


def test_up_with_no_ollama_prints_how_to_reach_it_without_the_password(
    running_stack: RunningStack,
) -> None:
    lines = [line for line in running_stack.output if "not reachable" in line]
    assert len(lines) == 1, running_stack.text()
    assert lines[0].startswith("  Ollama        not reachable at http://127.0.0.1:")
    assert lines[0].endswith("— start `ollama serve` or set OLLAMON_OLLAMA_URL")
    assert SECRET not in running_stack.text()


def test_up_with_no_ollama_shows_it_down_on_the_status_at_once(
    running_stack: RunningStack,
) -> None:
    def ollama_seen_down() -> bool:
        status = httpx.get(running_stack.gateway_url + STATUS_PATH, timeout=2).json()
        return [health["up"] for health in status["ollama"]] == [False]

    # the probe's next periodic publish is 12 polls away: only the check at start counts here
    wait_until(ollama_seen_down, timeout=2, message="Ollama down on the status")


def test_a_second_up_on_the_same_data_is_refused_with_one_line_naming_the_first(
    running_stack: RunningStack,
) -> None:
    code, output = run_until_exit(("up",), running_stack.storage_path, "http://127.0.0.1:9")
    assert code != 0
    assert output_lines(output) == [
        f"ollamon: {running_stack.storage_path} is in use by another ollamon "
        f"(pid {running_stack.process.pid}); stop it, or set OLLAMA_PERFORMANCE_STORAGE_PATH "
        "(or OLLAMON_STORAGE_PATH) to another folder"
    ]
    assert running_stack.process.poll() is None
    assert gateway_is_ours(running_stack.gateway_url), "the first stack still answers"
    assert "Restored" not in running_stack.text()


@pytest.mark.parametrize(
    ("setting", "what"),
    [
        ("OLLAMON_GATEWAY_PORT", "gateway"),
        ("OLLAMON_PROXY_PORT", "Ollama proxy"),
        ("OLLAMON_EMBEDDED_NATS_PORT", "embedded NATS"),
    ],
)
def test_a_port_held_by_another_program_is_refused_with_one_line_naming_address_and_setting(
    tmp_path: Path, setting: str, what: str
) -> None:
    with socket.socket() as other_program:
        other_program.bind(("127.0.0.1", 0))
        other_program.listen()
        port = other_program.getsockname()[1]
        code, output = run_until_exit(
            ("up",), tmp_path / "data", "http://127.0.0.1:9", {setting: str(port)}
        )
    assert code != 0
    assert output_lines(output) == [
        f"ollamon: 127.0.0.1:{port} ({what}) is already in use by another program; stop it "
        f"or set {setting} to a free port"
    ]
    assert not (tmp_path / "data" / "nats").exists(), "no NATS server was started"


class _Foreign(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b'{"status": "ok"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: object) -> None:
        pass


def test_readiness_accepts_ollamons_gateway_and_refuses_a_foreign_program(
    running_stack: RunningStack,
) -> None:
    foreign = ThreadingHTTPServer(("127.0.0.1", 0), _Foreign)
    threading.Thread(target=foreign.serve_forever, daemon=True).start()
    try:
        assert not gateway_is_ours(f"http://127.0.0.1:{foreign.server_address[1]}")
    finally:
        foreign.shutdown()
        foreign.server_close()
    assert gateway_is_ours(running_stack.gateway_url)
