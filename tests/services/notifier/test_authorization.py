"""The notifier does its whole job as its own NATS user, under the stack's authorization:
bind (and at restart recreate) its durable, ack, publish its delivery events and beat,
with no permission refused."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import nats
import pytest
from nats.aio.msg import Msg
from pydantic import SecretStr

from ollamon_cli.stack import create_streams
from ollamon_core import subjects
from ollamon_core.bus import Bus
from ollamon_core.events import Heartbeat, NotificationDelivery, ServiceName
from ollamon_core.permissions import ADMIN_USER
from ollamon_notifier.service import running_notifier
from tests.services.notifier.factories import firing, notifier_settings, resolved
from tests.services.notifier.receiver import RecordingReceiver
from tests.support.nats_auth import AuthorizedNats, authorized_nats_server
from tests.support.waiting import wait_for, wait_for_async


@pytest.fixture
def authorized(tmp_path: Path) -> Iterator[AuthorizedNats]:
    with authorized_nats_server(tmp_path / "data") as running:
        yield running


async def test_the_notifier_delivers_acks_and_reports_as_its_own_user(
    authorized: AuthorizedNats,
) -> None:
    await create_streams(authorized.url, authorized.login(ADMIN_USER))
    admin = await nats.connect(
        authorized.url, user=ADMIN_USER, password=authorized.password(ADMIN_USER)
    )
    outcomes: list[str] = []
    beats: list[Heartbeat] = []

    async def keep_outcome(msg: Msg) -> None:
        outcomes.append(NotificationDelivery.model_validate_json(msg.data).outcome.value)

    async def keep_beat(msg: Msg) -> None:
        beats.append(Heartbeat.model_validate_json(msg.data))

    await admin.subscribe(subjects.NOTIFICATIONS_ALL, cb=keep_outcome)
    await admin.subscribe(subjects.heartbeat_subject(ServiceName.NOTIFIER), cb=keep_beat)
    alerting = await Bus.connect(
        authorized.url, ServiceName.ALERTING, login=authorized.login("alerting")
    )
    try:
        async with RecordingReceiver(statuses=[503]) as receiver:
            settings = notifier_settings(
                authorized.url,
                webhook_urls=[receiver.url],
                nats_user="notifier",
                nats_password=SecretStr(authorized.password("notifier")),
            )
            alert = firing()
            async with running_notifier(settings):
                await alerting.publish_persistent(alert)
                await wait_for(lambda: outcomes == ["retrying", "delivered"], 10, "delivered")
            async with running_notifier(settings):  # the durable recreated from its floor
                await alerting.publish_persistent(resolved(alert))
                await wait_for(lambda: len(outcomes) == 3, 10, "the resolution delivered")
                await wait_for(lambda: beats, 5, "a heartbeat")

                async def all_acked() -> bool:
                    info = await admin.jetstream().consumer_info(
                        subjects.STREAM_EVENTS, subjects.NOTIFIER_DURABLE
                    )
                    return int(info.num_ack_pending) == 0 and int(info.num_pending) == 0

                await wait_for_async(all_acked, 10, "both alerts acked")
        assert [request.json()["status"] for request in receiver.accepted()] == [
            "firing",
            "resolved",
        ]
        assert beats[-1].counters.get("permission_errors", 0) == 0
    finally:
        await alerting.close()
        await admin.drain()
