"""Storage keeps queue wait apart from cold load (summary means per host and model) and
the audit trail of alerting's management (newest first, bounded, in the alerts answer)."""

from __future__ import annotations

from datetime import timedelta

from ollamon_core import subjects
from ollamon_core.events import AlertAudit, AuditAction, ServiceName, utc_now
from ollamon_core.events import queries as q
from ollamon_storage.settings import StorageSettings
from tests.conftest import BusFactory
from tests.services.storage import factories
from tests.support.waiting import wait_for_async


async def test_the_summary_gives_mean_queue_wait_and_mean_cold_load_per_host_and_model(
    running_storage: StorageSettings, bus_factory: BusFactory
) -> None:
    bus = await bus_factory(ServiceName.PROBE)
    events = [
        factories.request(cold_start=True, load_duration_ms=4000.0, cold_load_ms=4000.0),
        factories.request(cold_start=True, load_duration_ms=2000.0, cold_load_ms=2000.0),
        factories.request(cold_start=False, load_duration_ms=900.0, queue_wait_ms=900.0),
        factories.request(cold_start=False, load_duration_ms=100.0, queue_wait_ms=100.0),
        factories.request(cold_start=False, load_duration_ms=500.0, queue_wait_ms=500.0),
        factories.request(load_duration_ms=0.0),  # before the probe's first poll: neither
        factories.request(host="box-2", cold_start=False, queue_wait_ms=7.0),
    ]
    for event in events:
        await bus.publish_persistent(event)

    async def summary() -> q.SummaryReply | None:
        reply = await bus.request(subjects.QUERY_SUMMARY, q.SummaryQuery())
        return reply if reply.total_requests == len(events) else None

    reply = await wait_for_async(summary, timeout=15, message="every request summarised")
    assert isinstance(reply, q.SummaryReply)
    rows = {(model.host, model.model_name): model for model in reply.models}
    box_1 = rows[("box-1", "llama3.2:1b")]
    assert (box_1.cold_load_mean_ms, box_1.queue_wait_mean_ms) == (3000.0, 500.0)
    assert box_1.load_duration_mean_ms == 7500.0 / 6  # the mixed figure, as before
    box_2 = rows[("box-2", "llama3.2:1b")]
    assert (box_2.cold_load_mean_ms, box_2.queue_wait_mean_ms) == (None, 7.0)


async def test_audit_entries_are_stored_and_answered_newest_first_and_bounded(
    running_storage: StorageSettings, bus_factory: BusFactory
) -> None:
    bus = await bus_factory(ServiceName.ALERTING)
    now = utc_now()
    entries = [
        AlertAudit(
            host="alerting-host",
            timestamp=now - timedelta(minutes=10 - index),
            action=AuditAction.THRESHOLD_CHANGED,
            author=f"operator-{index}",
            comment="night shift",
            rule="slow_response",
            threshold=1000.0 + index,
            previous_threshold=30000.0,
        )
        for index in range(5)
    ]
    for entry in reversed(entries):  # stored out of order: the answer orders by time
        await bus.publish_persistent(entry)

    async def audited() -> q.AlertsReply | None:
        reply = await bus.request(subjects.QUERY_ALERTS, q.AlertsQuery(audit_limit=3))
        return reply if reply.audit and reply.audit[-1].author == "operator-2" else None

    reply = await wait_for_async(audited, timeout=15, message="the audit trail")
    assert isinstance(reply, q.AlertsReply)
    assert [entry.author for entry in reply.audit] == ["operator-4", "operator-3", "operator-2"]
    assert reply.audit[0] == entries[4]
    everything = await bus.request(subjects.QUERY_ALERTS, q.AlertsQuery())
    assert len(everything.audit) == 5
