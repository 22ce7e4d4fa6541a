"""One attempt at a time: what the sender makes of a message it cannot even build."""

from __future__ import annotations

from ollamon_core.events import ReceiverKind
from ollamon_notifier.groups import GroupBook
from ollamon_notifier.receivers import Sender
from ollamon_notifier.routing import Receiver, Route, Routing
from tests.services.notifier.factories import firing


async def test_a_message_that_cannot_be_built_is_refused_for_good_not_raised() -> None:
    # Past validation (as a bug could be): a header with a line feed cannot be built.
    poison = Receiver.model_construct(
        name="mail",
        kind=ReceiverKind.EMAIL,
        smtp_host="127.0.0.1",
        smtp_port=9,
        sender="ollamon@example.com",
        to=["ops@example.com\nBcc: all@example.com"],
        username=None,
        password=None,
        starttls=True,
        ca_file=None,
        headers={},
        token=None,
        url=None,
        hmac_secret=None,
    )
    routing = Routing.model_construct(receivers=[poison], routes=[Route(receivers=["mail"])])
    (plan,) = GroupBook(
        routing, repeat_interval_seconds=60, alertmanager_resend_seconds=60
    ).on_alert(firing(), now=0)
    sender = await Sender.open([poison], timeout_seconds=1, alertmanager_resend_seconds=60)
    try:
        result = await sender.send(poison, plan.notification)
    finally:
        await sender.aclose()
    assert not result.ok
    assert result.permanent
    assert result.error is not None and result.error.startswith("internal error: ValueError")
