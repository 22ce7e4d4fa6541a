"""A notifier that starts while alerts fire takes them up from storage: their repeats go
on (an Alertmanager keeps getting them) though the durable consumer brings them no more."""

from __future__ import annotations

from pathlib import Path

from ollamon_core import subjects
from ollamon_core.events import ServiceName
from ollamon_core.events import queries as q
from ollamon_notifier.service import running_notifier
from ollamon_storage.service import running_storage
from tests.conftest import BusFactory
from tests.services.notifier.conftest import AlertPublisher, Deliveries
from tests.services.notifier.factories import firing, notifier_settings, routes_file
from tests.services.notifier.receiver import RecordingReceiver
from tests.services.storage.conftest import make_settings, wait_for_ready
from tests.support.waiting import wait_for, wait_for_async


async def test_alerts_firing_before_the_notifier_started_are_repeated_to_its_receivers(
    clean_nats_url: str,
    publish: AlertPublisher,
    bus_factory: BusFactory,
    deliveries: Deliveries,
    tmp_path: Path,
) -> None:
    storage_settings = make_settings(tmp_path / "data", clean_nats_url)
    asker = await bus_factory(ServiceName.GATEWAY)
    async with running_storage(storage_settings):
        await wait_for_ready(storage_settings)
        await publish(firing())

        async def stored() -> bool:
            reply = await asker.request(subjects.QUERY_ALERTS, q.AlertsQuery())
            return bool(reply.active)

        await wait_for_async(stored, 15, "the firing alert stored")
        async with RecordingReceiver() as alertmanager:
            routes = await routes_file(
                tmp_path,
                f"""
receivers:
  - {{name: am, kind: alertmanager, url: "{alertmanager.url}"}}
routes:
  - receivers: [am]
""",
            )
            settings = notifier_settings(
                clean_nats_url, routes_file=routes, alertmanager_resend_seconds=0.5
            )
            async with running_notifier(settings) as notifier:
                await wait_for(lambda: len(alertmanager.received) >= 2, 10, "two re-sends")
                taken_up = notifier.counters["alerts_taken_up"]
    assert taken_up == 1
    (posted,) = alertmanager.received[0].json()
    assert posted["labels"]["fingerprint"] == "fp-slow"
    assert all(event.repeat for event in deliveries.events)
