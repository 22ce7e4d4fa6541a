"""Checks `ollamon up` makes before and while starting: one stack per data folder, free
ports, NATS answering, readiness that is ollamon's own, and Ollama's state (or that of the
llama.cpp or other OpenAI-compatible server in its place, found as the probe finds it).

Each refusal is one line naming what is in the way and the setting to change.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import fcntl
import os
import socket
import time
from pathlib import Path
from typing import IO

import httpx

from ollamon_cli.ports import ServedPort, port_taken
from ollamon_core.events import BackendKind
from ollamon_core.redaction import redact_url
from ollamon_probe.backends import Identity, NotThisKindError, ServerError, identify

LOCK_FILE_NAME = "ollamon.lock"
STORAGE_SETTING = "OLLAMA_PERFORMANCE_STORAGE_PATH (or OLLAMON_STORAGE_PATH)"
STATUS_PATH = "/api/ai/ollama/performance/status"
OLLAMA_CHECK_TIMEOUT_SECONDS = 2.0


class PreflightError(SystemExit):
    """A check failed: exits non-zero with its one line."""

    def __init__(self, line: str) -> None:
        super().__init__(f"ollamon: {line}")


def lock_storage(storage_path: Path) -> IO[str]:
    """Hold an exclusive lock on `<storage>/ollamon.lock` (for the life of the returned file);
    refuse if another `ollamon up` or `demo` holds it. The file names the holder's pid."""
    storage_path.mkdir(parents=True, exist_ok=True)
    lock_file = (storage_path / LOCK_FILE_NAME).open("a+", encoding="utf-8")
    try:
        fcntl.flock(lock_file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as error:
        if error.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
            raise
        lock_file.seek(0)
        holder = lock_file.read().strip() or "unknown"
        lock_file.close()
        raise PreflightError(
            f"{storage_path} is in use by another ollamon (pid {holder}); stop it, or set "
            f"{STORAGE_SETTING} to another folder"
        ) from None
    lock_file.seek(0)
    lock_file.truncate()
    lock_file.write(f"{os.getpid()}\n")
    lock_file.flush()
    return lock_file


def check_ports(ports: list[ServedPort]) -> None:
    """Refuse to start when another program holds any of `ports`."""
    for served in ports:
        if port_taken(served.host, served.port):
            raise SystemExit(served.taken_line())


def nats_answers(url: str, timeout_seconds: float) -> bool:
    """True once the NATS server at `url` answers a connection with its INFO line (no login
    needed: a server greets every client before authenticating it)."""
    address = url.split("://", 1)[-1].split(",", 1)[0].rsplit("@", 1)[-1]
    host, _, port = address.rpartition(":")
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host or "127.0.0.1", int(port or 4222)), timeout=1) as s:
                s.settimeout(1)
                if s.recv(5) == b"INFO ":
                    return True
        except OSError:
            pass
        time.sleep(0.2)
    return False


def gateway_is_ours(base_url: str) -> bool:
    """True when `base_url` answers the gateway's status with ollamon's JSON (not another
    program that happens to listen there)."""
    with contextlib.suppress(httpx.HTTPError, ValueError):
        reply = httpx.get(base_url + STATUS_PATH, timeout=2.0)
        body = reply.json()
        identified = isinstance(body, dict) and {"services", "nats"} <= set(body)
        return reply.status_code == 200 and identified
    return False


def wait_for_gateway(base_url: str, timeout_seconds: float) -> bool:
    """True once the gateway at `base_url` is ollamon's and answers."""
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        if gateway_is_ours(base_url):
            return True
        time.sleep(0.2)
    return False


def ollama_state(url: str) -> str:
    """One line: which server answers at `url` (Ollama, or a llama.cpp or other
    OpenAI-compatible server) and its version, or how to make it reachable (URL redacted).
    Called outside any event loop."""
    shown = redact_url(url)
    try:
        identity = asyncio.run(_identify(url.rstrip("/")))
    except (httpx.HTTPError, ValueError, NotThisKindError, ServerError):
        return f"not reachable at {shown} — start `ollama serve` or set OLLAMON_OLLAMA_URL"
    if identity.kind is BackendKind.OLLAMA:
        return f"reachable at {shown}, version {identity.version}"
    version = f", version {identity.version}" if identity.version else ""
    return f"reachable at {shown}: a {identity.kind.display_name}{version}"


async def _identify(url: str) -> Identity:
    async with httpx.AsyncClient(trust_env=False) as http:
        return await identify(http, url, None, OLLAMA_CHECK_TIMEOUT_SECONDS)
