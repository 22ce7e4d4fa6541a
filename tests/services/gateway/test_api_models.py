"""The REST bodies reuse the bus models' bounds (one definition, in ollamon_core)."""

from __future__ import annotations

from ollamon_core.events import MonitoringControl
from ollamon_gateway.api_models import MonitoringStartBody


def test_the_rest_body_of_monitoring_start_uses_the_events_interval() -> None:
    rest = MonitoringStartBody.model_fields["interval"]
    bus = MonitoringControl.model_fields["interval_seconds"]
    assert rest.annotation == bus.annotation
    assert rest.metadata == bus.metadata
