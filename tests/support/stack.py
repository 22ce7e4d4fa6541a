"""Run the whole stack the way a user does (`ollamon up`) on free ports, for end-to-end tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from ollamon_cli.credentials import load_credentials
from ollamon_cli.nats_server import free_port
from ollamon_core.permissions import ADMIN_USER

BANNER = "ollamon is up"
SHARED_PROCESS_MODULE = "ollamon_cli.services"
START_TIMEOUT_SECONDS = 60.0


@dataclass
class RunningStack:
    """Where a stack started by `ollamon up` listens, and its output so far."""

    process: subprocess.Popen[str]
    gateway_url: str
    proxy_url: str
    nats_url: str
    storage_path: Path
    output: list[str] = field(default_factory=list)

    @property
    def database_path(self) -> Path:
        """The SQLite file storage writes."""
        return self.storage_path / "ollamon.db"

    def text(self) -> str:
        """Everything the stack printed so far."""
        return "\n".join(self.output)

    def nats_login(self, user: str = ADMIN_USER) -> dict[str, str]:
        """nats-py `connect` options for `user` of the embedded server (none for an
        external server, which the tests run without authorization)."""
        credentials = load_credentials(self.storage_path)
        if credentials is None:
            return {}
        return {"user": user, "password": credentials.passwords[user]}


def stack_environment(
    storage_path: Path, ollama_url: str, nats_url: str | None = None, **extra: str
) -> tuple[dict[str, str], dict[str, str]]:
    """Environment for `ollamon up` on free ports; returns (env, urls)."""
    gateway_port, proxy_port, nats_port = free_port(), free_port(), free_port()
    env = {
        **os.environ,
        "OLLAMA_PERFORMANCE_STORAGE_PATH": str(storage_path),
        "OLLAMON_OLLAMA_URL": ollama_url,
        "OLLAMON_GATEWAY_PORT": str(gateway_port),
        "OLLAMON_PROXY_PORT": str(proxy_port),
        "OLLAMON_EMBEDDED_NATS_PORT": str(nats_port),
        "OLLAMA_MONITORING_INTERVAL": "0.5",
        "OLLAMON_HEARTBEAT_INTERVAL": "0.5",
        "PYTHONUNBUFFERED": "1",
        **extra,
    }
    env.pop("OLLAMON_NATS_URL", None)
    if nats_url:
        env["OLLAMON_NATS_URL"] = nats_url
    urls = {
        "gateway": f"http://127.0.0.1:{gateway_port}",
        "proxy": f"http://127.0.0.1:{proxy_port}",
        "nats": nats_url or f"nats://127.0.0.1:{nats_port}",
    }
    return env, urls


def start_stack(
    storage_path: Path, ollama_url: str, nats_url: str | None = None, **extra: str
) -> RunningStack:
    """Start `ollamon up`; block until its banner (from a thread in async code)."""
    return launch(("up",), storage_path, ollama_url, nats_url, extra)


def launch(
    command: tuple[str, ...],
    storage_path: Path,
    ollama_url: str,
    nats_url: str | None = None,
    extra: dict[str, str] | None = None,
    start_timeout_seconds: float = START_TIMEOUT_SECONDS,
) -> RunningStack:
    """Start `ollamon <command>` on free ports; block until the stack's banner."""
    env, urls = stack_environment(storage_path, ollama_url, nats_url, **(extra or {}))
    process = subprocess.Popen(
        [sys.executable, "-m", "ollamon_cli.main", *command],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        process_group=0,  # its own group, as in a terminal: a test may signal the group
    )
    stack = RunningStack(
        process, urls["gateway"], urls["proxy"], urls["nats"], storage_path=storage_path
    )
    ready = threading.Event()

    def read_output() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            stack.output.append(line.rstrip())
            if BANNER in line:
                ready.set()

    threading.Thread(target=read_output, daemon=True).start()
    if not ready.wait(start_timeout_seconds):
        stop_stack(stack)
        raise AssertionError("the stack did not come up:\n" + stack.text()[-4000:])
    return stack


def run_until_exit(
    command: tuple[str, ...],
    storage_path: Path,
    ollama_url: str,
    extra: dict[str, str] | None = None,
    timeout_seconds: float = 60.0,
) -> tuple[int, str]:
    """Run `ollamon <command>` on free ports (or those in `extra`) to its end, for commands
    that refuse to start; returns (exit code, everything it printed)."""
    env, _ = stack_environment(storage_path, ollama_url, **(extra or {}))
    finished = subprocess.run(
        [sys.executable, "-m", "ollamon_cli.main", *command],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout_seconds,
        check=False,
    )
    return finished.returncode, finished.stdout


def stop_stack(stack: RunningStack, timeout_seconds: float = 30.0) -> int:
    """SIGTERM `ollamon up` and wait for it; returns its exit code."""
    if stack.process.poll() is None:
        stack.process.send_signal(signal.SIGTERM)
        try:
            stack.process.wait(timeout_seconds)
        except subprocess.TimeoutExpired:
            stack.process.kill()
            stack.process.wait()
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline and "ollamon: stopped" not in stack.text():
        time.sleep(0.05)
    return int(stack.process.returncode)


def processes_by_service(stack: RunningStack) -> dict[str, psutil.Process]:
    """The process that runs each service under `ollamon up`, by service name: the one
    process of them all (`python -m ollamon_cli.services NAME...`, the default) or each
    one's own (`python -m ollamon_<name>`, `--processes separate`). Reads /proc: call it
    from a thread in async code."""
    found: dict[str, psutil.Process] = {}
    for child in psutil.Process(stack.process.pid).children():
        try:
            argv = child.cmdline()
        except psutil.NoSuchProcess:
            continue
        if SHARED_PROCESS_MODULE in argv:
            names = argv[argv.index(SHARED_PROCESS_MODULE) + 1 :]
            found |= dict.fromkeys(names, child)
            continue
        for word in argv:
            if word.startswith("ollamon_") and "." not in word:
                found[word.removeprefix("ollamon_")] = child
    return found
