"""Alert state in a real JetStream key-value bucket: what one engine saves, the next restores."""

from __future__ import annotations

from datetime import timedelta

import pytest
from nats.aio.client import Client as NatsClient
from nats.js import JetStreamContext

from ollamon_alerting.engine import AlertEngine
from ollamon_alerting.management import ThresholdChange
from ollamon_alerting.rules import RuleName
from ollamon_alerting.state_store import AlertStateStore
from ollamon_core.events import AlertState, Silence, ThresholdUpdate
from tests.services.alerting.conftest import FakeClock, make_settings
from tests.services.alerting.factories import request


@pytest.fixture
def js(plain_client: NatsClient) -> JetStreamContext:
    return plain_client.jetstream()


async def persist(engine: AlertEngine, store: AlertStateStore) -> None:
    changed, removed = engine.tracker.take_changes()
    await store.save_records(
        [(record.fingerprint, record.model_dump_json().encode()) for record in changed], removed
    )


async def test_a_restored_engine_continues_the_alert_without_refiring(
    js: JetStreamContext, clock: FakeClock
) -> None:
    settings = make_settings(
        for_seconds=0, resolve_seconds=0, request_rule_breaches=1, request_rule_requests=1
    )
    store = await AlertStateStore.open(js)
    before = AlertEngine(settings)
    (firing,) = before.on_request(request(response_time_ms=45000), clock())
    await persist(before, store)

    after = AlertEngine(settings)
    stored = await (await AlertStateStore.open(js)).load()
    after.restore(stored.records, stored.silences, clock.advance(60))
    assert after.on_request(request(response_time_ms=45000), clock()) == []
    (resolved,) = after.on_request(request(response_time_ms=500), clock())
    assert resolved.state is AlertState.RESOLVED
    assert resolved.fingerprint == firing.fingerprint
    assert resolved.starts_at == firing.starts_at

    await persist(after, store)
    assert (await store.load()).records == []


async def test_silences_and_runtime_thresholds_survive_and_lifted_silences_do_not(
    js: JetStreamContext, clock: FakeClock
) -> None:
    store = await AlertStateStore.open(js)
    kept = Silence(silence_id="a b/c", match_host="h", expires_at=clock() + timedelta(hours=1))
    lifted = Silence(silence_id="gone", expires_at=clock() + timedelta(hours=1))
    await store.save_silence(kept, in_force=True)
    await store.save_silence(lifted, in_force=True)
    await store.save_silence(lifted, in_force=False)
    engine = AlertEngine(make_settings())
    rule, change, _audit = engine.controls.set_threshold(
        ThresholdUpdate(rule="slow_response", threshold=1234, author="ops"), clock()
    )
    await store.save_threshold(rule, change)
    await store.kv.put("threshold.high_cpu", b"75.0")  # as an older version wrote it

    stored = await store.load()
    assert stored.silences == [kept]
    assert stored.thresholds == {
        RuleName.SLOW_RESPONSE: ThresholdChange(
            threshold=1234, updated_at=clock(), updated_by="ops"
        ),
        RuleName.HIGH_CPU: ThresholdChange(threshold=75.0),
    }
