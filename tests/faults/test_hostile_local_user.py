"""A hostile local user and a hostile web page against `ollamon up` with the emulator as Ollama:
what issue 12 found open is refused, cut off or contained, and the stack keeps working.

- Slow and huge clients: 40 MiB request heads to the proxy and the gateway, hundreds of
  slowloris connections and stalled bodies on the proxy (more than its connection cap), and
  a flood of malformed requests, while steady traffic goes through the proxy. Small limits
  are set through the stack's environment so the test is quick.
- What a page or a user sends, with a password in `OLLAMON_OLLAMA_URL`: NATS without
  credentials, and the one login the banner prints (the read-only alerts user) trying to stop
  monitoring, wipe history and delete the stream; cross-site POSTs and a forged `Host`;
  intervals, thresholds and silences out of bounds, over REST and over NATS (as the admin, so
  the services' own validation is what refuses them); every GET of the API read for the
  password. The thorough search for the password (SSE, NATS, SQLite, exports, 502 bodies) is
  tests/test_credentials_end_to_end.py; each user's every forbidden subject,
  tests/test_nats_authorization.py; every browser case, tests/services/gateway/.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import nats
import psutil
import pytest
from nats.aio.client import Client as NatsClient

from ollama_emulator.server import running_emulator
from ollamon_core import subjects
from ollamon_core.events import (
    Event,
    MonitoringAction,
    MonitoringControl,
    Silence,
    ThresholdUpdate,
)
from ollamon_core.events.queries import CleanupRequest
from ollamon_core.permissions import ALERTS_READER_USER
from tests.faults.observers import (
    SERVICES,
    HeartbeatLog,
    SteadyTraffic,
    restarts_reported,
    service_processes,
    watch,
)
from tests.faults.stack_under_fault import FaultStack, fault_stack
from tests.support.hostile_clients import (
    Slowloris,
    StalledBody,
    host_and_port,
    huge_head,
    status_of,
)
from tests.support.stack import RunningStack, start_stack, stop_stack
from tests.support.waiting import wait_for
from tests.test_credentials_end_to_end import Seen, every_get_endpoint

pytestmark = pytest.mark.timeout(240)

HEAD_TIMEOUT_SECONDS = 1.0
BODY_IDLE_SECONDS = 1.0
PROXY_MAX_CONNECTIONS = 64
LIMITS_ENV = {
    "OLLAMON_PROXY_HEADER_TIMEOUT": str(HEAD_TIMEOUT_SECONDS),
    "OLLAMON_PROXY_BODY_IDLE_TIMEOUT": str(BODY_IDLE_SECONDS),
    "OLLAMON_PROXY_MAX_CONNECTIONS": str(PROXY_MAX_CONNECTIONS),
    "OLLAMON_GATEWAY_HEADER_TIMEOUT": str(HEAD_TIMEOUT_SECONDS),
}
HUGE_HEAD_BYTES = 40 * 1024 * 1024
HUGE_HEADS = 4
SLOWLORIS = 500
STALLED_BODIES = 100
MALFORMED = 100
API = "/api/ai/ollama/performance"
EVIL = "http://evil.example"
MODEL = "llama3.2:1b"
PASSWORD = "hostile-test-pw"


def rss_mib(process: psutil.Process) -> float:
    return process.memory_info().rss / 2**20


def connections_to(process: psutil.Process, port: int) -> int:
    """Established TCP connections of `process` to `port` (the probe's to Ollama)."""
    return sum(
        1
        for connection in process.net_connections("tcp")
        if connection.raddr
        and connection.raddr.port == port
        and connection.status == psutil.CONN_ESTABLISHED
    )


async def malformed_requests(url: str, count: int, at_once: int = 10) -> list[int | None]:
    """Send `count` requests that are not HTTP, `at_once` at a time (under the connection cap);
    the status of each reply."""
    gate = asyncio.Semaphore(at_once)

    async def one() -> int | None:
        async with gate:
            reader, writer = await asyncio.open_connection(*host_and_port(url))
            writer.write(b"\x16\x03\x01 not HTTP at all\r\n\r\n")
            try:
                async with asyncio.timeout(10):
                    return status_of(await reader.read())
            finally:
                writer.close()

    return await asyncio.gather(*(one() for _ in range(count)))


def refusal_lines(faults: FaultStack, service: str) -> list[str]:
    return [
        line
        for line in faults.stack.output
        if f" {service} " in line and "ollamon_http.refusals" in line
    ]


async def test_slow_and_huge_clients_are_cut_off_while_the_proxy_keeps_answering(
    tmp_path: Path,
) -> None:
    async with fault_stack(tmp_path, env=LIMITS_ENV) as faults:
        stack = faults.stack
        processes = await service_processes(stack)
        probe, gateway = processes["probe"], processes["gateway"]
        pids_before = {name: process.pid for name, process in processes.items()}
        ollama_port = urlsplit(faults.ollama.url).port
        assert ollama_port is not None
        rss_before = {
            "probe": await asyncio.to_thread(rss_mib, probe),
            "gateway": await asyncio.to_thread(rss_mib, gateway),
        }

        # Huge heads, held open by their senders until the servers close them.
        heads = await asyncio.gather(
            *(huge_head(stack.proxy_url, HUGE_HEAD_BYTES) for _ in range(HUGE_HEADS)),
            *(
                huge_head(stack.gateway_url, HUGE_HEAD_BYTES, path="/metrics")
                for _ in range(HUGE_HEADS)
            ),
        )
        rss_after = {
            "probe": await asyncio.to_thread(rss_mib, probe),
            "gateway": await asyncio.to_thread(rss_mib, gateway),
        }
        print(
            f"{HUGE_HEADS} heads of {HUGE_HEAD_BYTES >> 20} MiB to the proxy and to the gateway: "
            f"statuses {[head.status for head in heads]} (None: reset before the reply); "
            f"RSS {rss_before} -> {rss_after} MiB"
        )
        assert all(head.status in (431, None) for head in heads)
        for service in ("probe", "gateway"):
            assert rss_after[service] - rss_before[service] < 32

        # Slowloris, more than the proxy's connection cap, under steady traffic.
        traffic = SteadyTraffic(stack.proxy_url, requests_per_second=20)
        traffic.start()
        started = time.monotonic()
        slow = [Slowloris(stack.proxy_url, pause_seconds=0.1).start() for _ in range(SLOWLORIS)]
        try:
            slow_endings = [await client.cut() for client in slow]
        finally:
            for client in slow:
                client.stop()
        cut_after = time.monotonic() - started
        await traffic.stop()
        slow_statuses = [ending.status for ending in slow_endings]
        print(
            f"{SLOWLORIS} slowloris against a cap of {PROXY_MAX_CONNECTIONS}: all ended within "
            f"{cut_after:.1f} s, {slow_statuses.count(408)} with 408, "
            f"{slow_statuses.count(None)} closed "
            f"(idle, to let a newer connection in); steady traffic meanwhile "
            f"{dict(traffic.outcomes)}"
        )
        assert all(status in (408, None) for status in slow_statuses)
        assert traffic.answered >= 1
        assert set(traffic.outcomes) == {"200"}

        # Stalled bodies, more than the cap: each one let in holds a connection to Ollama until
        # it is cut; the rest are closed to make room while idle, or refused with 503.
        upstream_before = await asyncio.to_thread(connections_to, probe, ollama_port)
        upstream_seen: list[int] = []

        async def sample_upstream() -> None:
            while True:  # each sample reads /proc in a thread
                upstream_seen.append(await asyncio.to_thread(connections_to, probe, ollama_port))

        sampler = asyncio.create_task(sample_upstream())
        stalled = [
            StalledBody(
                stack.proxy_url, "/api/generate", 100_000, b'{"model": "llama3.2:1b", '
            ).start()
            for _ in range(STALLED_BODIES)
        ]
        try:
            body_endings = [await body.cut() for body in stalled]
            await wait_for(
                lambda: upstream_seen[-1] <= upstream_before,
                timeout=15,
                message="the probe's connections to Ollama back to where they were",
            )
        finally:
            sampler.cancel()
            for body in stalled:
                body.stop()
        upstream_peak = max(upstream_seen)
        body_statuses = [ending.status for ending in body_endings]
        print(
            f"{STALLED_BODIES} stalled bodies against a cap of {PROXY_MAX_CONNECTIONS}: "
            f"{body_statuses.count(408)} let in and cut with 408, "
            f"{body_statuses.count(503)} refused with 503 (every connection busy), "
            f"{body_statuses.count(None)} closed before a reply could be read (idle when a "
            "newer one came, or reset) "
            f"({sum(ending.reset for ending in body_endings)} reset); the probe's connections "
            f"to Ollama {upstream_before} -> {upstream_peak} -> {upstream_seen[-1]}"
        )
        assert all(status in (408, 503, None) for status in body_statuses)
        assert upstream_peak >= body_statuses.count(408)

        # A flood of malformed requests: answered 400, counted, and logged once.
        assert await malformed_requests(stack.proxy_url, MALFORMED) == [400] * MALFORMED
        await wait_for(
            lambda: faults.heartbeats.counter("probe", "http_malformed_requests") >= MALFORMED,
            timeout=15,
            message="the malformed requests in the probe's heartbeat",
        )
        counters = {
            name: faults.heartbeats.counter("probe", name)
            for name in (
                "http_oversized_heads",
                "http_head_timeouts",
                "http_shed_connections",
                "http_body_timeouts",
                "http_malformed_requests",
                "http_refused_connections",
                "cancelled_requests",
            )
        }
        lines = refusal_lines(faults, "probe")
        print(f"probe's heartbeat counters {counters}; its refusal log lines: {lines}")
        assert counters["http_oversized_heads"] == HUGE_HEADS
        # Each slowloris and stalled body is one refusal: cut, or closed to make room (a
        # connection whose head has not arrived yet is idle too), or refused.
        assert counters["http_body_timeouts"] == body_statuses.count(408)
        assert counters["http_head_timeouts"] + counters["http_shed_connections"] + counters[
            "http_refused_connections"
        ] == SLOWLORIS + STALLED_BODIES - body_statuses.count(408)
        assert counters["http_malformed_requests"] == MALFORMED
        assert len(lines) <= 2  # the first refusal, and at most one summary a minute
        assert not any("Traceback" in line for line in stack.output)
        assert restarts_reported(stack) == []
        assert {n: p.pid for n, p in (await service_processes(stack)).items()} == pids_before


async def nats_refusal(url: str, **login: str) -> str:
    """Connect with `login` (none: no credentials); what the server answered."""
    try:
        nc = await nats.connect(
            url, allow_reconnect=False, max_reconnect_attempts=0, error_cb=ignore, **login
        )
    except Exception as error:  # nats-py raises the server's -ERR or gives up connecting
        return f"{type(error).__name__}: {error}"
    await nc.close()
    return "connected"


async def ignore(_error: Exception) -> None:
    """An error callback for a client expected to fail (nats-py logs a traceback otherwise)."""


@dataclass
class ServerErrors:
    """What a nats-py client's error callback got (permission violations arrive there)."""

    errors: list[str] = field(default_factory=list)

    async def on_error(self, error: Exception) -> None:
        self.errors.append(str(error))

    def refused(self, subject: str) -> bool:
        # nats-py gives the server's message in lower case.
        return any(
            f'permissions violation for publish to "{subject.lower()}"' in e for e in self.errors
        )


def raw_event(event: Event, **changes: object) -> bytes:
    """`event` as JSON with fields changed past what its model allows (a hand-made message)."""
    return json.dumps({**event.model_dump(mode="json"), **changes}).encode()


async def test_what_a_hostile_page_and_user_send_is_refused_and_the_password_shown_nowhere(
    tmp_path: Path,
) -> None:
    async with running_emulator() as emulator_url:
        parts = urlsplit(emulator_url)
        ollama_url = f"http://admin:{PASSWORD}@{parts.netloc}"
        storage = tmp_path / "data"
        stack = await asyncio.to_thread(
            start_stack, storage, emulator_url, None, OLLAMON_OLLAMA_URL=ollama_url
        )
        admin: NatsClient | None = None
        try:
            admin = await nats.connect(
                stack.nats_url, **(await asyncio.to_thread(stack.nats_login))
            )
            heartbeats = HeartbeatLog()
            await watch(admin, subjects.HEARTBEAT_ALL, heartbeats)
            await wait_for(
                lambda: heartbeats.services_alive() >= set(SERVICES),
                timeout=30,
                message="a heartbeat from every service",
            )
            async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=10) as http:
                await nats_part(stack, admin, heartbeats)
                await browser_part(stack, http)
                await commands_part(stack, http, admin, heartbeats)
                await password_part(stack, http, parts.netloc)
                async with httpx.AsyncClient(base_url=stack.proxy_url, timeout=10) as proxy:
                    reply = await proxy.post(
                        "/api/generate",
                        json={"model": MODEL, "prompt": "still there?", "stream": False},
                    )
                assert reply.status_code == 200
                assert restarts_reported(stack) == []
        finally:
            if admin is not None:
                await admin.close()
            await asyncio.to_thread(stop_stack, stack)


async def nats_part(stack: RunningStack, admin: NatsClient, heartbeats: HeartbeatLog) -> None:
    """NATS: nobody gets in without credentials; the banner's login can only read alerts."""
    anonymous = await nats_refusal(stack.nats_url)
    credentials = stack.storage_path / "nats-auth" / "credentials.json"
    mode = (await asyncio.to_thread(credentials.stat)).st_mode & 0o777
    reader_login = await asyncio.to_thread(stack.nats_login, ALERTS_READER_USER)
    errors = ServerErrors()
    reader = await nats.connect(stack.nats_url, error_cb=errors.on_error, **reader_login)
    stop = MonitoringControl(host="hostile", action=MonitoringAction.STOP)
    wipe = CleanupRequest(days_to_keep=0, confirm=True)  # even a confirmed wipe
    delete_stream = f"$JS.API.STREAM.DELETE.{subjects.STREAM_EVENTS}"
    try:
        await reader.publish(subjects.CONTROL_MONITORING, stop.model_dump_json().encode())
        await reader.publish(subjects.QUERY_CLEANUP.subject, wipe.model_dump_json().encode())
        await reader.publish(delete_stream, b"")
        await reader.flush()
        await wait_for(
            lambda: all(
                errors.refused(subject)
                for subject in (
                    subjects.CONTROL_MONITORING,
                    subjects.QUERY_CLEANUP.subject,
                    delete_stream,
                )
            ),
            timeout=10,
            message="three permission violations",
        )
    finally:
        await reader.close()
    stream = await admin.jetstream().stream_info(subjects.STREAM_EVENTS)
    beat_after = len(heartbeats.seen)
    await wait_for(
        lambda: len(heartbeats.seen) > beat_after + len(SERVICES),
        timeout=15,
        message="fresh heartbeats",
    )
    collector_state = heartbeats.latest("collector")
    print(
        f"NATS: without credentials -> {anonymous}; credentials file mode {mode:o}; the "
        f"alerts reader's stop, cleanup and stream delete -> {len(errors.errors)} permission "
        f"violations; the stream still holds {stream.state.messages} messages, the collector "
        f"is {collector_state.state if collector_state else None}"
    )
    assert anonymous != "connected"
    assert "authorization" in anonymous.lower() or "NoServers" in anonymous
    assert mode == 0o600
    assert collector_state is not None and collector_state.state == "running"


async def browser_part(stack: RunningStack, http: httpx.AsyncClient) -> None:
    """A page on another site cannot change anything; a rebinding name is not answered."""
    evil = {"Origin": EVIL, "Sec-Fetch-Site": "cross-site"}
    wipe = await http.post(
        f"{API}/cleanup",
        content=b'{"days_to_keep":0}',
        headers={**evil, "Content-Type": "text/plain"},
    )
    stop = await http.post(
        f"{API}/monitoring/stop",
        content=b"",
        headers={**evil, "Content-Type": "application/x-www-form-urlencoded"},
    )
    slow_down = await http.post(f"{API}/monitoring/start", json={"interval": 3600}, headers=evil)
    rebound = await http.get(f"{API}/summary", headers={"Host": "evil.example"})
    statuses = {
        "cross-site cleanup (text/plain)": wipe.status_code,
        "cross-site stop (form)": stop.status_code,
        "cross-site interval 3600": slow_down.status_code,
        "GET with Host: evil.example": rebound.status_code,
    }
    print(f"browser: {statuses}")
    assert (wipe.status_code, stop.status_code, slow_down.status_code) == (403, 403, 403)
    assert rebound.status_code == 400


async def commands_part(
    stack: RunningStack, http: httpx.AsyncClient, admin: NatsClient, heartbeats: HeartbeatLog
) -> None:
    """Out-of-bounds intervals, thresholds and silences: 400 over REST, refused over NATS."""
    own = {"Origin": stack.gateway_url, "Sec-Fetch-Site": "same-origin"}
    rest = {
        str(interval): (
            await http.post(f"{API}/monitoring/start", json={"interval": interval}, headers=own)
        ).status_code
        for interval in (1e-9, True, 1e9, "5")
    }
    invalid_before = {
        name: heartbeats.counter(name, "invalid_messages") for name in ("collector", "alerting")
    }
    start = MonitoringControl(host="hostile", action=MonitoringAction.START, interval_seconds=1)
    threshold = ThresholdUpdate(host="hostile", rule="high_cpu", threshold=90)
    silence = Silence(
        host="hostile", silence_id="forever", expires_at=datetime.now(UTC) + timedelta(hours=1)
    )
    await admin.publish(subjects.CONTROL_MONITORING, raw_event(start, interval_seconds=1e-9))
    await admin.publish(subjects.CONTROL_MONITORING, raw_event(start, interval_seconds=True))
    await admin.publish(subjects.CONTROL_THRESHOLD, raw_event(threshold, threshold=1e308))
    await admin.publish(
        subjects.CONTROL_SILENCE, raw_event(silence, expires_at="2099-01-01T00:00:00Z")
    )
    await admin.flush()

    def refused() -> dict[str, float]:
        return {
            name: heartbeats.counter(name, "invalid_messages") - before
            for name, before in invalid_before.items()
        }

    await wait_for(
        lambda: refused() == {"collector": 2, "alerting": 2},
        timeout=15,
        message="the hand-made commands counted as invalid",
    )
    print(
        f"commands: REST monitoring/start interval -> {rest}; over NATS as the admin, "
        f"interval 1e-9 and true, threshold 1e308, a silence until 2099 -> invalid messages "
        f"counted {refused()}"
    )
    assert set(rest.values()) == {400}


async def password_part(stack: RunningStack, http: httpx.AsyncClient, ollama: str) -> None:
    """Every GET of the API, and everything the stack printed, without the password; the
    Ollama URL (`ollama`, as redacted) is there, so the search looks where it flows."""
    seen = Seen()
    await every_get_endpoint(http, seen)
    metrics = await http.get("/metrics")
    seen.rest["/metrics"] = metrics.text
    places = [*seen.rest.values(), *stack.output]
    found = [place[:200] for place in places if PASSWORD in place]
    redacted = [place for place in places if f"http://{ollama}" in place]
    print(
        f"password: {len(seen.rest)} GET replies and {len(stack.output)} lines of output "
        f"searched, found in {len(found)}; the redacted URL in {len(redacted)}"
    )
    assert found == []
    assert redacted
