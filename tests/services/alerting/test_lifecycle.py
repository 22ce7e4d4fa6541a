"""The alert lifecycle with a fake clock: pending, firing, repeat, hysteresis, resolve,
staleness, silence and inhibition."""

from __future__ import annotations

from datetime import timedelta

from ollamon_alerting.lifecycle import AlertTracker, RecordStatus, fingerprint
from ollamon_alerting.observations import Observation
from ollamon_alerting.rules import RuleName
from ollamon_alerting.silences import SilenceBook
from ollamon_core.events import AlertState, Severity, Silence
from tests.services.alerting.conftest import FakeClock

THRESHOLD = 30000.0


def slow(value: float, model: str = "llama3.2:1b", host: str = "h1") -> Observation:
    return Observation(RuleName.SLOW_RESPONSE, host, model, value)


def unreachable(down: bool, host: str = "h1") -> Observation:
    return Observation(RuleName.OLLAMA_UNREACHABLE, host, None, 1.0 if down else 0.0)


def test_a_breach_is_pending_until_it_has_held_for_the_duration(
    tracker: AlertTracker, clock: FakeClock
) -> None:
    assert tracker.observe(slow(45000), THRESHOLD, clock()) == []
    (record,) = tracker.records.values()
    assert record.status is RecordStatus.PENDING
    clock.advance(29)
    assert tracker.tick(clock()) == []
    clock.advance(1)
    (notification,) = tracker.tick(clock())
    assert notification.state is AlertState.FIRING
    assert notification.record.severity is Severity.MEDIUM
    assert notification.record.notification_count == 1


def test_a_pending_alert_that_clears_never_fires(tracker: AlertTracker, clock: FakeClock) -> None:
    tracker.observe(slow(45000), THRESHOLD, clock())
    clock.advance(10)
    assert tracker.observe(slow(1000), THRESHOLD, clock()) == []
    clock.advance(60)
    assert tracker.tick(clock()) == []
    assert tracker.records == {}


def test_a_zero_duration_fires_on_the_first_breach(silences: SilenceBook, clock: FakeClock) -> None:
    from ollamon_alerting.lifecycle import LifecycleTiming

    tracker = AlertTracker(LifecycleTiming(for_seconds=0), silences)
    (notification,) = tracker.observe(slow(45000), THRESHOLD, clock())
    assert notification.state is AlertState.FIRING


def fire(tracker: AlertTracker, clock: FakeClock, value: float = 45000) -> None:
    tracker.observe(slow(value), THRESHOLD, clock())
    clock.advance(30)
    assert len(tracker.tick(clock())) == 1


def test_one_alert_per_fingerprint_while_it_fires(tracker: AlertTracker, clock: FakeClock) -> None:
    fire(tracker, clock)
    for _ in range(10):
        clock.advance(5)
        assert tracker.observe(slow(44000), THRESHOLD, clock()) == []
    other_model = tracker.observe(slow(45000, model="qwen"), THRESHOLD, clock())
    assert other_model == []  # pending on its own fingerprint
    assert len(tracker.records) == 2


def test_a_still_firing_alert_repeats_after_the_interval(
    tracker: AlertTracker, clock: FakeClock
) -> None:
    fire(tracker, clock)
    clock.advance(3599)
    assert tracker.observe(slow(45000), THRESHOLD, clock()) == []
    clock.advance(1)
    (repeat,) = tracker.observe(slow(45000), THRESHOLD, clock())
    assert repeat.state is AlertState.FIRING
    assert repeat.record.notification_count == 2


def test_a_rising_severity_notifies_at_once_and_never_falls(
    tracker: AlertTracker, clock: FakeClock
) -> None:
    fire(tracker, clock, value=31000)
    clock.advance(1)
    (escalated,) = tracker.observe(slow(90000), THRESHOLD, clock())
    assert escalated.record.severity is Severity.CRITICAL
    assert tracker.observe(slow(31000), THRESHOLD, clock()) == []
    assert tracker.records[escalated.record.fingerprint].severity is Severity.CRITICAL


def test_a_value_inside_the_hysteresis_band_keeps_the_alert_firing(
    tracker: AlertTracker, clock: FakeClock
) -> None:
    fire(tracker, clock)
    for _ in range(20):
        clock.advance(10)
        # 28000 is below 30000 but above the resolve level 27000.
        assert tracker.observe(slow(28000), THRESHOLD, clock()) == []
    (record,) = tracker.records.values()
    assert record.status is RecordStatus.FIRING
    assert record.clear_since is None


def test_it_resolves_after_staying_below_the_resolve_level_for_the_duration(
    tracker: AlertTracker, clock: FakeClock
) -> None:
    fire(tracker, clock)
    started = next(iter(tracker.records.values())).pending_since
    cleared_at = clock.advance(5)
    assert tracker.observe(slow(1000), THRESHOLD, clock()) == []
    clock.advance(59)
    assert tracker.tick(clock()) == []
    resolved_at = clock.advance(1)
    (resolved,) = tracker.tick(clock())
    assert resolved.state is AlertState.RESOLVED
    assert resolved.record.pending_since == started
    assert resolved.ends_at == resolved_at
    assert resolved.record.clear_since == cleared_at
    assert tracker.records == {}


def test_a_breach_while_resolving_restarts_the_resolve_timer(
    tracker: AlertTracker, clock: FakeClock
) -> None:
    fire(tracker, clock)
    tracker.observe(slow(1000), THRESHOLD, clock())
    clock.advance(50)
    tracker.observe(slow(45000), THRESHOLD, clock())
    clock.advance(1)
    tracker.observe(slow(1000), THRESHOLD, clock())
    clock.advance(59)
    assert tracker.tick(clock()) == []
    clock.advance(1)
    assert [n.state for n in tracker.tick(clock())] == [AlertState.RESOLVED]


def test_an_alert_without_new_data_resolves_when_stale(
    tracker: AlertTracker, clock: FakeClock
) -> None:
    fire(tracker, clock)  # last observed 30 s ago
    clock.advance(569)
    assert tracker.tick(clock()) == []
    clock.advance(1)
    assert [n.state for n in tracker.tick(clock())] == [AlertState.RESOLVED]


def silence(clock: FakeClock, minutes: int = 10, **match: str) -> Silence:
    return Silence(silence_id="s1", expires_at=clock() + timedelta(minutes=minutes), **match)


def test_a_silenced_alert_is_not_notified_and_its_resolve_is_not_sent(
    tracker: AlertTracker, silences: SilenceBook, clock: FakeClock
) -> None:
    silences.add(silence(clock, match_alertname="slow_response", match_host="h1"), clock())
    tracker.observe(slow(45000), THRESHOLD, clock())
    clock.advance(30)
    assert tracker.tick(clock()) == []
    assert next(iter(tracker.records.values())).status is RecordStatus.FIRING
    tracker.observe(slow(1000), THRESHOLD, clock())
    clock.advance(60)
    assert tracker.tick(clock()) == []
    assert tracker.records == {}


def test_a_silence_matches_only_its_rule_host_and_model(
    tracker: AlertTracker, silences: SilenceBook, clock: FakeClock
) -> None:
    silences.add(silence(clock, match_model="qwen"), clock())
    tracker.observe(slow(45000, model="llama"), THRESHOLD, clock())
    clock.advance(30)
    assert len(tracker.tick(clock())) == 1


def test_an_alert_still_firing_when_its_silence_expires_is_notified(
    tracker: AlertTracker, silences: SilenceBook, clock: FakeClock
) -> None:
    silences.add(silence(clock, minutes=1), clock())
    tracker.observe(slow(45000), THRESHOLD, clock())
    clock.advance(30)
    assert tracker.tick(clock()) == []
    clock.advance(30)
    silences.expire(clock())
    assert silences.silences == {}
    (notification,) = tracker.tick(clock())
    assert notification.state is AlertState.FIRING
    assert notification.record.notification_count == 1


def test_slow_response_is_inhibited_while_the_hosts_ollama_is_unreachable(
    tracker: AlertTracker, clock: FakeClock
) -> None:
    tracker.observe(unreachable(True), 0.5, clock())
    tracker.observe(slow(45000), THRESHOLD, clock())
    tracker.observe(slow(45000, host="h2"), THRESHOLD, clock())
    clock.advance(30)
    notifications = tracker.tick(clock())
    assert sorted((n.record.rule, n.record.host) for n in notifications) == [
        (RuleName.OLLAMA_UNREACHABLE, "h1"),
        (RuleName.SLOW_RESPONSE, "h2"),
    ]
    # Ollama is back: the inhibited alert, still firing, is notified.
    tracker.observe(unreachable(False), 0.5, clock())
    clock.advance(60)
    tracker.observe(slow(45000), THRESHOLD, clock())
    states = sorted((n.record.rule, n.state) for n in tracker.tick(clock()))
    assert (RuleName.OLLAMA_UNREACHABLE, AlertState.RESOLVED) in states
    assert tracker.records[fingerprint(RuleName.SLOW_RESPONSE, "h1", "llama3.2:1b")]
    assert (
        tracker.records[fingerprint(RuleName.SLOW_RESPONSE, "h1", "llama3.2:1b")].notification_count
        == 1
    )


def test_changes_are_reported_once_for_persisting(tracker: AlertTracker, clock: FakeClock) -> None:
    fire(tracker, clock)
    changed, removed = tracker.take_changes()
    assert [record.status for record in changed] == [RecordStatus.FIRING]
    assert removed == []
    assert tracker.take_changes() == ([], [])
    tracker.observe(slow(1000), THRESHOLD, clock())
    clock.advance(60)
    tracker.tick(clock())
    assert tracker.take_changes() == ([], [changed[0].fingerprint])
