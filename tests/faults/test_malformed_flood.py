"""1,000 malformed messages on every subject any service consumes, some as big as the server
allows: no service crashes, every message is counted and dead-lettered by each consumer.

Each service's heartbeat carries `invalid_messages` and `dead_lettered`; the dead-letter
stream `OLLAMON_DEADLETTER` keeps one message per consumer and bad message on
`ollamon.deadletter.<service>`. A message above the server's max_payload never leaves the
client (nats-py refuses it, as the server would). Afterwards the stack still works: a request
through the proxy reaches SQLite.
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import httpx
import nats.errors
import pytest

from ollamon_cli.nats_server import NatsServer
from ollamon_core import subjects
from ollamon_core.events import ServiceName
from tests.faults.malformed import CONSUMERS, expected_per_service, payloads
from tests.faults.observers import SERVICES, restarts_reported, service_pids
from tests.faults.stack_under_fault import FaultStack, fault_stack
from tests.support.waiting import wait_for, wait_for_async

pytestmark = pytest.mark.timeout(180)

PER_SUBJECT = 1_000
LARGE_PER_SUBJECT = 2
FLUSH_EVERY = 200


async def dead_letters_by_service(faults: FaultStack) -> dict[str, int]:
    """Messages in the dead-letter stream, by the service that dead-lettered them."""
    info = await faults.nc.jetstream().stream_info(
        subjects.STREAM_DEADLETTER, subjects_filter=subjects.DEADLETTER_ALL
    )
    found = info.state.subjects or {}
    return {
        service: found.get(subjects.deadletter_subject(ServiceName(service)), 0)
        for service in SERVICES
    }


def invalid_counts(faults: FaultStack, counter: str) -> dict[str, int]:
    return {name: int(faults.heartbeats.counter(name, counter)) for name in SERVICES}


async def test_a_flood_of_malformed_messages_is_counted_and_dead_lettered_without_a_crash(
    tmp_path: Path, isolated_nats_server: NatsServer
) -> None:
    async with fault_stack(tmp_path, nats_url=isolated_nats_server.url) as faults:
        pids_before = await service_pids(faults.stack)
        invalid_before = invalid_counts(faults, "invalid_messages")
        max_payload = faults.nc.max_payload
        with pytest.raises(nats.errors.MaxPayloadError):
            await faults.nc.publish(subjects.SYSTEM, b"x" * (max_payload + 1))

        expected: Counter[str] = Counter()

        def counted() -> dict[str, int]:
            now = invalid_counts(faults, "invalid_messages")
            return {name: now[name] - invalid_before[name] for name in SERVICES}

        started = time.monotonic()
        sent = 0
        try:
            # Subject by subject, each waiting for its readers: one burst of everything would
            # only measure the server's 64 MiB per-client buffer (slow-consumer cut-off).
            for subject, readers in CONSUMERS.items():
                for payload in payloads(PER_SUBJECT, LARGE_PER_SUBJECT, max_payload):
                    await faults.nc.publish(subject, payload)
                    sent += 1
                    if sent % FLUSH_EVERY == 0:
                        await faults.nc.flush()
                await faults.nc.flush()
                expected.update({reader: PER_SUBJECT for reader in readers})
                await wait_for(
                    lambda: all(counted()[name] >= expected[name] for name in SERVICES),
                    timeout=30,
                    message=f"the malformed messages on {subject} counted by {readers}",
                )
        finally:
            print(f"invalid messages counted {counted()} of expected {dict(expected)}")

        async def all_dead_lettered() -> dict[str, int] | None:
            found = await dead_letters_by_service(faults)
            return found if all(found[n] >= expected[n] for n in SERVICES) else None

        dead_letters = await wait_for_async(all_dead_lettered, timeout=30, message="dead letters")
        elapsed_seconds = time.monotonic() - started
        async with httpx.AsyncClient(base_url=faults.stack.proxy_url) as client:
            reply = await client.post(
                "/api/generate",
                json={"model": "llama3.2:1b", "prompt": "still there?", "stream": False},
            )
        assert reply.status_code == 200

        async def request_stored() -> bool:
            rows = await faults.query_async("SELECT COUNT(*) FROM requests")
            return rows[0][0] >= 1

        await wait_for_async(request_stored, timeout=15, message="a request stored after the flood")
        print(
            f"{sent} malformed messages on {len(CONSUMERS)} subjects ({LARGE_PER_SUBJECT} per "
            f"subject of {max_payload} bytes); dead letters by service {dead_letters}; "
            f"handled in {elapsed_seconds:.1f} s; a message of {max_payload + 1} bytes was "
            "refused at publish"
        )
        assert expected == expected_per_service(PER_SUBJECT)
        assert counted() == dict(expected)
        assert dead_letters == dict(expected)
        assert invalid_counts(faults, "dead_lettered") == {
            name: invalid_counts(faults, "invalid_messages")[name] for name in SERVICES
        }
        disconnects = invalid_counts(faults, "disconnects")
        print(f"disconnects from NATS during the flood {disconnects}")
        assert sum(disconnects.values()) == 0
        assert restarts_reported(faults.stack) == []
        assert await service_pids(faults.stack) == pids_before
