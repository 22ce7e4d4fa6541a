"""Secrets never leave, end to end: `ollamon up` with `OLLAMON_OLLAMA_URL` holding a password.

The first URL is the emulator with `admin:<password>` (the proxy's Ollama); the second names
it again by `localhost` under a path it does not serve, with a `token` parameter (a server
the watcher finds down, with httpx's error text naming the URL it asked). After requests
through the proxy (Ollama and OpenAI APIs), health checks, an unreachable alert, 502s from
the proxy once the emulator is gone, and an export, the password and the token are searched
for in every REST reply, the SSE stream, /metrics, every NATS message (a plain subscriber on
`>`), every file under the storage path (the SQLite file and its WAL, exports, the JetStream
store) and everything the stack printed (banner and logs). The redacted URL is searched for
in the same places, so each search is shown to see what flows there.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import nats
import ollama
import pytest
from nats.aio.msg import Msg

from ollama_emulator.config import fast_config
from ollama_emulator.server import running_emulator
from tests.support.stack import RunningStack, start_stack, stop_stack
from tests.support.waiting import wait_for, wait_for_async

PASSWORD = "s3cret-pw-e2e"
TOKEN = "t0ken-e2e"
SECRETS = (PASSWORD, TOKEN)
API = "/api/ai/ollama/performance"
HEALTH = "/api/ai/ollama/health"
MODEL = "llama3.2:1b"
# The stack's NATS admin user, when the stack made credentials (`ollamon_core.permissions`).
NATS_ADMIN = "admin"

pytestmark = pytest.mark.timeout(240)


@dataclass
class Seen:
    """Everything the test got back, by where it came from."""

    rest: dict[str, str] = field(default_factory=dict)
    sse_lines: list[str] = field(default_factory=list)
    nats: list[tuple[str, bytes]] = field(default_factory=list)
    files: dict[str, bytes] = field(default_factory=dict)

    def nats_text(self) -> str:
        return "\n".join(
            f"{subject} {data.decode(errors='replace')}" for subject, data in self.nats
        )


def nats_login(storage_path: Path) -> dict[str, str]:
    """nats-py options for the stack's admin user; none when the stack runs without auth."""
    credentials = storage_path / "nats-auth" / "credentials.json"
    if not credentials.exists():
        return {}
    return {"user": NATS_ADMIN, "password": json.loads(credentials.read_text())[NATS_ADMIN]}


def stored_requests(database: Path) -> int:
    with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as db:
        return int(db.execute("SELECT count(*) FROM requests").fetchone()[0])


def every_file(root: Path) -> dict[str, bytes]:
    """The bytes of every file under `root` (the database, its WAL, exports, NATS' store)."""
    return {
        str(path.relative_to(root)): path.read_bytes() for path in root.rglob("*") if path.is_file()
    }


async def read_sse(url: str, lines: list[str]) -> None:
    async with httpx.AsyncClient(timeout=None) as client, client.stream("GET", url) as response:
        async for line in response.aiter_lines():
            lines.append(line)


async def every_get_endpoint(http: httpx.AsyncClient, seen: Seen) -> None:
    """GET every path of the OpenAPI schema (the stream is read on its own)."""
    schema = (await http.get("/schema/openapi.json")).json()
    for path, operations in schema["paths"].items():
        if "get" not in operations or path.endswith("/stream"):
            continue
        concrete = path.replace("{model_name}", MODEL)
        reply = await http.get(concrete)
        seen.rest[concrete] = f"{reply.status_code} {reply.text}"


async def drive_traffic(stack: RunningStack, http: httpx.AsyncClient, seen: Seen) -> None:
    """Requests through the proxy on both APIs, and a health check through the gateway."""
    client = ollama.AsyncClient(host=stack.proxy_url)
    assert (await client.generate(MODEL, "Why is the sky blue?")).done
    chunks = [
        chunk
        async for chunk in await client.chat(
            MODEL, messages=[{"role": "user", "content": "hi"}], stream=True
        )
    ]
    assert chunks[-1].done
    async with httpx.AsyncClient(base_url=stack.proxy_url) as proxy:
        reply = await proxy.post(
            "/v1/chat/completions",
            json={"model": MODEL, "messages": [{"role": "user", "content": "hi"}]},
        )
    assert reply.status_code == 200, reply.text
    health = await http.get(HEALTH)
    seen.rest["health while up"] = f"{health.status_code} {health.text}"


async def drive_bad_gateways(stack: RunningStack, seen: Seen) -> None:
    """With Ollama gone: a 502 on each API, each shaped as its clients expect."""
    async with httpx.AsyncClient(base_url=stack.proxy_url) as proxy:
        ollama_api = await proxy.post("/api/generate", json={"model": MODEL, "prompt": "x"})
        openai_api = await proxy.post(
            "/v1/chat/completions",
            json={"model": MODEL, "messages": [{"role": "user", "content": "x"}]},
        )
    assert (ollama_api.status_code, openai_api.status_code) == (502, 502)
    assert isinstance(ollama_api.json()["error"], str)
    assert openai_api.json()["error"]["type"] == "api_error"
    seen.rest["502 /api/generate"] = ollama_api.text
    seen.rest["502 /v1/chat/completions"] = openai_api.text


async def export_both_formats(http: httpx.AsyncClient, storage_path: Path) -> list[Path]:
    files: list[Path] = []
    for export_format in ("json", "csv"):
        reply = await http.post(f"{API}/export", json={"format": export_format})
        assert reply.status_code == 200, reply.text
        files += [storage_path / name for name in reply.json()["files"]]
    return files


async def stored_alert(http: httpx.AsyncClient, host: str) -> bool:
    """True once storage answers with an unreachable alert for `host`."""
    alerts = (await http.get(f"{API}/alerts", params={"limit": 100})).json()
    return any(
        alert["alert_type"] == "ollama_unreachable" and alert["host"] == host
        for alert in [*alerts["active"], *alerts["alerts"]]
    )


def nats_saw(seen: Seen, *parts: str) -> bool:
    return any(all(part in f"{subject} {data!r}" for part in parts) for subject, data in seen.nats)


async def run_everything(
    stack: RunningStack, emulator: contextlib.AsyncExitStack, port: int, seen: Seen
) -> list[Path]:
    login = await asyncio.to_thread(nats_login, stack.storage_path)
    nc = await nats.connect(stack.nats_url, **login)

    async def keep(msg: Msg) -> None:
        seen.nats.append((msg.subject, msg.data))

    await nc.subscribe(">", cb=keep)
    sse = asyncio.create_task(read_sse(f"{stack.gateway_url}{API}/stream", seen.sse_lines))
    try:
        # Live frames go to connected clients only: traffic before it would be missed.
        await wait_for(lambda: ": connected" in seen.sse_lines, 10, "the stream connected")
        async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=30) as http:
            await drive_traffic(stack, http, seen)
            await wait_for_async(
                lambda: asyncio.to_thread(lambda: stored_requests(stack.database_path) >= 3),
                timeout=20,
                message="three requests stored",
            )
            await wait_for_async(
                lambda: stored_alert(http, "localhost"),
                timeout=30,
                message="the locked URL's unreachable alert, stored",
            )
            await emulator.aclose()
            await drive_bad_gateways(stack, seen)
            await wait_for(
                lambda: nats_saw(seen, "ollamon.alerts.", "ollama_unreachable", f"1:{port}"),
                timeout=30,
                message="the proxy's Ollama reported unreachable",
            )
            await wait_for_async(
                lambda: asyncio.to_thread(lambda: stored_requests(stack.database_path) >= 5),
                timeout=20,
                message="the two failed requests stored",
            )
            exports = await export_both_formats(http, stack.storage_path)
            await every_get_endpoint(http, seen)
            await wait_for(
                lambda: sum(line == "event: request" for line in seen.sse_lines) >= 5,
                timeout=10,
                message="five request events on the stream",
            )
    finally:
        sse.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sse
        await nc.close()
    return exports


async def test_an_ollama_password_and_token_appear_nowhere(tmp_path: Path) -> None:
    seen = Seen()
    async with contextlib.AsyncExitStack() as emulator:
        emulator_url = await emulator.enter_async_context(running_emulator(fast_config()))
        port = urlsplit(emulator_url).port
        assert port is not None
        shown_url = f"http://127.0.0.1:{port}"
        ollama_urls = (
            f"http://admin:{PASSWORD}@127.0.0.1:{port},"
            f"http://admin:{PASSWORD}@localhost:{port}/locked?token={TOKEN}"
        )
        stack = await asyncio.to_thread(
            start_stack,
            tmp_path / "data",
            ollama_urls,
            OLLAMON_ALERT_FOR_SECONDS="0",
            OLLAMON_ALERT_EVALUATION_INTERVAL="0.2",
        )
        try:
            exports = await run_everything(stack, emulator, port, seen)
        finally:
            await asyncio.to_thread(stop_stack, stack)
    seen.files = await asyncio.to_thread(every_file, stack.storage_path)
    output = stack.text()
    export_text = "\n".join(
        seen.files[str(path.relative_to(stack.storage_path))].decode() for path in exports
    )
    database = b"".join(data for name, data in seen.files.items() if name.startswith("ollamon.db"))
    places: dict[str, str] = {
        "stack output (banner, logs)": output,
        "NATS messages": seen.nats_text(),
        "SSE stream": "\n".join(seen.sse_lines),
        "/status": seen.rest[f"{API}/status"],
        "/metrics": seen.rest["/metrics"],
        "SQLite file and WAL": database.decode(errors="replace"),
        "exports": export_text,
    }
    everything = {
        **places,
        **{f"REST {path}": text for path, text in seen.rest.items()},
        **{f"file {name}": data.decode(errors="replace") for name, data in seen.files.items()},
    }
    leaks = [
        (place, secret)
        for place, text in everything.items()
        for secret in SECRETS
        if secret in text
    ]
    assert leaks == [], "the password or the token left"
    # The searches see what flows there: the redacted URLs are found in each place.
    for place, text in places.items():
        assert shown_url in text, f"{place} never showed {shown_url}: the search proves nothing"
    assert f"-> {shown_url}" in output  # the banner and the probe's startup log line
    assert f"localhost:{port}/locked?token=REDACTED" in seen.nats_text()  # the second URL
    assert stack.process.returncode == 0
