"""What the gateway remembers from live events (pure, no I/O)."""

from __future__ import annotations

from datetime import timedelta

from ollamon_core.events import (
    CatalogModel,
    Heartbeat,
    LoadedModel,
    MonitoringAction,
    MonitoringControl,
    OllamaHealth,
    OllamaModelsSnapshot,
    ServiceName,
    utc_now,
)
from ollamon_gateway.live_state import LiveState


def beat(service: ServiceName, seconds_ago: float, host: str = "h1") -> Heartbeat:
    now = utc_now()
    return Heartbeat(
        host=host,
        service=service,
        version="0.1.0",
        pid=42,
        started_at=now - timedelta(minutes=5),
        timestamp=now - timedelta(seconds=seconds_ago),
        counters={"published": 3.0},
    )


def test_monitoring_starts_active_at_the_configured_interval() -> None:
    state = LiveState(default_interval_seconds=5.0, heartbeat_interval_seconds=5.0)
    assert state.monitoring_status.active
    assert state.monitoring_status.interval_seconds == 5.0


def test_stop_then_start_keeps_the_interval_unless_a_new_one_is_given() -> None:
    state = LiveState(default_interval_seconds=5.0, heartbeat_interval_seconds=5.0)
    stopped = state.apply_control(MonitoringControl(action=MonitoringAction.STOP))
    assert not stopped.active
    assert stopped.interval_seconds == 5.0
    started = state.apply_control(
        MonitoringControl(action=MonitoringAction.START, interval_seconds=2.5)
    )
    assert started.active
    assert started.interval_seconds == 2.5
    assert state.monitoring_status == started


def test_services_report_the_latest_heartbeat_and_go_stale_after_three_intervals() -> None:
    state = LiveState(default_interval_seconds=5.0, heartbeat_interval_seconds=5.0)
    state.apply_heartbeat(beat(ServiceName.STORAGE, seconds_ago=60))
    state.apply_heartbeat(beat(ServiceName.PROBE, seconds_ago=1))
    state.apply_heartbeat(beat(ServiceName.PROBE, seconds_ago=30, host="h2"))
    statuses = {(s.service, s.host): s for s in state.services()}
    assert statuses[("probe", "h1")].alive
    assert not statuses[("probe", "h2")].alive
    assert not statuses[("storage", "h1")].alive
    assert statuses[("storage", "h1")].heartbeat_age_seconds >= 60
    assert statuses[("probe", "h1")].counters == {"published": 3.0}


def test_services_never_heard_from_or_stale_are_listed_as_missing() -> None:
    state = LiveState(default_interval_seconds=5.0, heartbeat_interval_seconds=5.0)
    assert state.missing_services() == [
        "collector",
        "probe",
        "alerting",
        "storage",
        "gateway",
        "notifier",
    ]
    state.apply_heartbeat(beat(ServiceName.STORAGE, seconds_ago=60))
    state.apply_heartbeat(beat(ServiceName.PROBE, seconds_ago=1))
    state.apply_heartbeat(beat(ServiceName.PROBE, seconds_ago=30, host="h2"))
    assert state.missing_services() == ["collector", "alerting", "storage", "gateway", "notifier"]


def test_a_newer_heartbeat_replaces_the_older_one() -> None:
    state = LiveState(default_interval_seconds=5.0, heartbeat_interval_seconds=5.0)
    state.apply_heartbeat(beat(ServiceName.COLLECTOR, seconds_ago=100))
    state.apply_heartbeat(beat(ServiceName.COLLECTOR, seconds_ago=0))
    [collector] = state.services()
    assert collector.alive


def test_ollama_health_is_kept_per_server() -> None:
    state = LiveState(default_interval_seconds=5.0, heartbeat_interval_seconds=5.0)
    state.apply_health(OllamaHealth(ollama_url="http://b:11434", up=False, error_message="x"))
    state.apply_health(OllamaHealth(ollama_url="http://a:11434", up=True, version="0.12"))
    state.apply_health(OllamaHealth(ollama_url="http://b:11434", up=True, version="0.12"))
    assert [(h.ollama_url, h.up) for h in state.ollama_health()] == [
        ("http://a:11434", True),
        ("http://b:11434", True),
    ]


def test_ollama_health_is_kept_per_host_even_at_the_same_address() -> None:
    state = LiveState(default_interval_seconds=5.0, heartbeat_interval_seconds=5.0)
    url = "http://127.0.0.1:11434"
    now = utc_now()
    state.apply_health(OllamaHealth(host="vm", ollama_url=url, up=True, timestamp=now))
    state.apply_health(OllamaHealth(host="hostB", ollama_url=url, up=False, timestamp=now))
    late = now - timedelta(seconds=30)  # an older one (replayed from a spool) changes nothing
    state.apply_health(OllamaHealth(host="vm", ollama_url=url, up=False, timestamp=late))
    assert [(h.host, h.up) for h in state.ollama_health()] == [("hostB", False), ("vm", True)]
    assert [(h.host, h.up) for h in state.ollama_health("vm")] == [("vm", True)]


def models_snapshot(host: str, loaded: list[str], seconds_ago: float = 0.0) -> OllamaModelsSnapshot:
    return OllamaModelsSnapshot(
        host=host,
        ollama_url="http://127.0.0.1:11434",
        timestamp=utc_now() - timedelta(seconds=seconds_ago),
        loaded=[LoadedModel(name=name, size_bytes=2**30, size_vram_bytes=2**30) for name in loaded],
        available=[CatalogModel(name=f"catalogue-{n}") for n in range(50)],
    )


def test_loaded_models_keep_each_server_s_newest_snapshot_without_its_catalogue() -> None:
    state = LiveState(default_interval_seconds=5.0, heartbeat_interval_seconds=5.0)
    state.apply_models(models_snapshot("h1", ["qwen3:8b"], seconds_ago=5))
    state.apply_models(models_snapshot("h2", ["llama3.2:1b", "phi4"]))
    state.apply_models(models_snapshot("h1", [], seconds_ago=1))
    state.apply_models(models_snapshot("h1", ["too-old"], seconds_ago=30))

    snapshots = state.loaded_models()
    assert [(s.host, [m.name for m in s.loaded]) for s in snapshots] == [
        ("h1", []),
        ("h2", ["llama3.2:1b", "phi4"]),
    ]
    assert all(snapshot.available == [] for snapshot in snapshots)
    assert [s.host for s in state.loaded_models("h2")] == ["h2"]
