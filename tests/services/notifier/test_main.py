"""`python -m ollamon_notifier` as its own process, as the launcher starts it."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path
from typing import Any

import nats
from nats.aio.msg import Msg

from tests.services.notifier.conftest import AlertPublisher
from tests.services.notifier.factories import firing, routes_file
from tests.services.notifier.receiver import RecordingReceiver
from tests.support.waiting import wait_for


async def test_the_module_delivers_alerts_and_stops_cleanly_on_sigterm(
    clean_nats_url: str, publish: AlertPublisher
) -> None:
    nc = await nats.connect(clean_nats_url)
    heartbeats: list[dict[str, Any]] = []

    async def keep_heartbeat(msg: Msg) -> None:
        heartbeats.append(json.loads(msg.data))

    await nc.subscribe("ollamon.heartbeat.notifier", cb=keep_heartbeat)
    async with RecordingReceiver() as receiver:
        env = os.environ | {
            "OLLAMON_NATS_URL": clean_nats_url,
            "OLLAMON_ALERT_WEBHOOK_URLS": receiver.url,
            "OLLAMON_HEARTBEAT_INTERVAL": "0.2",
        }
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "ollamon_notifier", env=env
        )
        try:
            # The first heartbeat is sent once the durable consumer is bound.
            await wait_for(lambda: heartbeats, 20, "a heartbeat from the notifier process")
            await publish(firing())
            await wait_for(lambda: receiver.accepted(), 10, "the notification")
            await wait_for(
                lambda: heartbeats[-1]["counters"].get("alerts_acked") == 1, 5, "counters"
            )
        finally:
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
            return_code = await asyncio.wait_for(process.wait(), 15)
            await nc.drain()
    assert return_code == 0
    assert receiver.accepted()[0].json()["receiver"] == "webhook-1"


async def test_a_bad_routing_file_stops_the_start_with_a_line_saying_where_and_why(
    clean_nats_url: str, tmp_path: Path
) -> None:
    routes = await routes_file(
        tmp_path,
        "receivers: [{name: ops, kind: webhook, url: 'http://x', hmac_secret: s3cret}]\n"
        "routes: [{receivers: [pager]}]\n",
    )
    env = os.environ | {
        "OLLAMON_NATS_URL": clean_nats_url,
        "OLLAMON_NOTIFIER_ROUTES_FILE": str(routes),
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "ollamon_notifier",
        env=env,
        stderr=asyncio.subprocess.PIPE,
    )
    _, stderr = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 1
    text = stderr.decode()
    assert f"cannot start: routing file {routes}: route 1 names unknown receivers: pager" in text
    assert "s3cret" not in text
