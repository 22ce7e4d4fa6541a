"""`proxy_bypassed` fires while a host's window holds requests only Ollama's log saw, names
the client addresses sending them, and resolves once the window no longer holds any."""

from __future__ import annotations

import pytest

from ollamon_alerting.engine import AlertEngine
from ollamon_core.events import UNKNOWN_MODEL, AlertState, OllamaModelMetrics, RequestSource
from tests.services.alerting.conftest import FakeClock, make_settings
from tests.services.alerting.factories import HOST, request


@pytest.fixture
def engine() -> AlertEngine:
    return AlertEngine(make_settings(for_seconds=0, resolve_seconds=0, window_seconds=60))


def bypassing(client: str) -> OllamaModelMetrics:
    return request(
        model_name=UNKNOWN_MODEL,
        model_unknown=True,
        source=RequestSource.LOG,
        client_address=client,
        tokens_generated=0,
        tokens_per_second=None,
        time_to_first_token_ms=None,
    )


def test_proxied_requests_alone_fire_nothing(engine: AlertEngine, clock: FakeClock) -> None:
    for _ in range(3):
        alerts = engine.on_request(request(), clock())
        assert [a for a in alerts if a.alert_type == "proxy_bypassed"] == []


def test_a_bypassing_client_is_named_and_the_alert_resolves_when_the_window_moves_on(
    engine: AlertEngine, clock: FakeClock
) -> None:
    engine.on_request(request(), clock())
    engine.on_request(bypassing("192.168.1.20"), clock())
    alerts = engine.on_request(bypassing("192.168.1.20"), clock())
    alerts += engine.on_request(bypassing("10.0.0.7"), clock())
    fired = [a for a in engine.tracker.records.values() if a.rule.value == "proxy_bypassed"]
    assert len(fired) == 1
    firing = next(a for a in alerts if a.alert_type == "proxy_bypassed")
    assert firing.state is AlertState.FIRING
    assert (firing.host, firing.model_name) == (HOST, None)
    assert "192.168.1.20 (2)" in firing.message and "10.0.0.7 (1)" in firing.message
    assert firing.recommendation and "proxy" in firing.recommendation
    clock.advance(61)
    resolved = [a for a in engine.tick(clock()) if a.alert_type == "proxy_bypassed"]
    assert [a.state for a in resolved] == [AlertState.RESOLVED]


def test_the_clients_named_are_those_still_in_the_window_as_it_slides(
    engine: AlertEngine, clock: FakeClock
) -> None:
    for _ in range(3):
        engine.on_request(bypassing("10.0.0.1"), clock())
    clock.advance(40)
    engine.on_request(bypassing("10.0.0.2"), clock())
    engine.on_request(request(), clock())
    clock.advance(21)  # the three from 10.0.0.1 have left the window
    (observation,) = engine.bypass.tick(clock())
    assert observation.value == 50.0
    assert "1 of 2 requests" in observation.detail and "10.0.0.2 (1)" in observation.detail
    assert "10.0.0.1" not in observation.detail
    assert engine.bypass.clients[HOST] == {"10.0.0.2": 1}
    clock.advance(41)
    (observation,) = engine.bypass.tick(clock())
    assert observation.value is None
    assert HOST not in engine.bypass.clients
