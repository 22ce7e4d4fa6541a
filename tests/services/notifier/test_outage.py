"""A receiver down for 60 s, and the notifier restarted meanwhile, loses nothing.

The one long test of the notifier: about 65 s (60 s of outage, then the backlog drains).
"""

from __future__ import annotations

import asyncio
import time

import pytest

from ollamon_notifier.service import running_notifier
from tests.services.notifier.conftest import AlertPublisher, Deliveries
from tests.services.notifier.factories import firing, notifier_settings, resolved
from tests.services.notifier.receiver import RecordingReceiver, free_port
from tests.support.waiting import wait_for

OUTAGE_SECONDS = 60.0
RESTART_AT_SECONDS = 20.0


def sent(fingerprint: str, status: str) -> tuple[str, str]:
    return fingerprint, status


@pytest.mark.timeout(180)
async def test_a_receiver_down_for_a_minute_gets_every_alert_once_it_is_back(
    clean_nats_url: str, publish: AlertPublisher, deliveries: Deliveries
) -> None:
    port = free_port()
    settings = notifier_settings(
        clean_nats_url,
        webhook_urls=[f"http://127.0.0.1:{port}/hook"],
        retry_initial_seconds=0.2,
        retry_max_seconds=2.0,
        give_up_seconds=600.0,
    )
    down_since = time.monotonic()
    expected: list[tuple[str, str]] = []

    async def alert_cycle(fingerprint: str) -> None:
        alert = firing(fingerprint)
        await publish(alert)
        await publish(resolved(alert))
        expected.extend([sent(fingerprint, "firing"), sent(fingerprint, "resolved")])

    async with running_notifier(settings) as first:
        for index in range(5):
            await alert_cycle(f"before-restart-{index}")
        await wait_for(lambda: first.counters["notifications_retrying"] >= 5, 10, "retrying")
        await asyncio.sleep(max(0.0, RESTART_AT_SECONDS - (time.monotonic() - down_since)))
    # Stopped with every alert unacked: the next notifier gets them all again.
    async with running_notifier(settings) as second:
        for index in range(5):
            await alert_cycle(f"after-restart-{index}")
        await asyncio.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - down_since)))
        assert deliveries.events
        assert all(event.outcome.value == "retrying" for event in deliveries.events)
        async with RecordingReceiver(port) as receiver:
            back_at = time.monotonic()
            await wait_for(
                lambda: len(receiver.accepted()) >= len(expected), 30, "every notification"
            )
            drained_seconds = time.monotonic() - back_at
            await wait_for(lambda: second.counters["alerts_unsettled"] == 0, 10, "all acked")

    got = [
        sent(request.json()["alerts"][-1]["fingerprint"], request.json()["alerts"][-1]["status"])
        for request in receiver.accepted()
    ]
    assert sorted(got) == sorted(expected)  # each exactly once
    for index in range(5):
        for stage in ("before-restart", "after-restart"):
            fingerprint = f"{stage}-{index}"
            assert got.index(sent(fingerprint, "firing")) < got.index(sent(fingerprint, "resolved"))
    delivered = [event for event in deliveries.events if event.outcome.value == "delivered"]
    assert len(delivered) == len(expected)
    print(
        f"\noutage {OUTAGE_SECONDS:.0f} s, notifier restarted at {RESTART_AT_SECONDS:.0f} s: "
        f"{len(expected)} notifications, all delivered {drained_seconds:.1f} s after the "
        f"receiver came back; {second.counters['notifications_retrying']} retries after the "
        "restart"
    )
