"""Which notifications an alert makes and when repeats are due (pure, time passed in);
the backoff between attempts."""

from __future__ import annotations

from ollamon_notifier.backoff import RetryPolicy
from ollamon_notifier.groups import GroupBook
from ollamon_notifier.routing import parse_routing
from tests.services.notifier.factories import firing, resolved

ROUTES = """
receivers:
  - {name: ops, kind: webhook, url: "http://ops"}
  - {name: am, kind: alertmanager, url: "http://am"}
routes:
  - receivers: [ops, am]
    group_by: [host]
    repeat_interval_seconds: 100
"""


def book() -> GroupBook:
    return GroupBook(
        parse_routing(ROUTES, toml=False),
        repeat_interval_seconds=3600,
        alertmanager_resend_seconds=10,
    )


def test_a_new_firing_alert_notifies_every_receiver_at_once() -> None:
    planned = book().on_alert(firing(), now=0)
    assert [plan.receiver.name for plan in planned] == ["ops", "am"]
    assert planned[0].notification.group_key == '{}:{host="gpu-box"}'
    assert planned[0].notification.group_labels == {"host": "gpu-box"}


def test_the_same_firing_alert_again_waits_for_the_repeat_interval() -> None:
    groups = book()
    groups.on_alert(firing(), now=0)
    assert groups.on_alert(firing(), now=5) == []
    assert [plan.receiver.name for plan in groups.on_alert(firing(), now=20)] == ["am"]


def test_a_group_carries_its_firing_alerts_and_a_resolved_one_leaves_it() -> None:
    groups = book()
    one, two = firing("fp-1"), firing("fp-2", alert_type="context_overflow")
    groups.on_alert(one, now=0)
    (ops, _) = groups.on_alert(two, now=1)
    assert [a.fingerprint for a in ops.notification.alerts] == ["fp-1", "fp-2"]
    (ops, _) = groups.on_alert(resolved(one), now=2)
    assert [(a.fingerprint, a.state.value) for a in ops.notification.alerts] == [
        ("fp-2", "firing"),
        ("fp-1", "resolved"),
    ]
    assert ops.notification.status.value == "firing"  # fp-2 still fires
    (ops, _) = groups.on_alert(resolved(two), now=3)
    assert ops.notification.status.value == "resolved"
    assert groups.groups == {}


def test_still_firing_groups_repeat_each_at_its_receivers_interval() -> None:
    groups = book()
    groups.on_alert(firing(), now=0)
    assert groups.due_repeats(now=9) == []
    (am,) = groups.due_repeats(now=10)  # an Alertmanager: every resend interval
    assert am.receiver.name == "am" and am.notification.repeat
    assert [plan.receiver.name for plan in groups.due_repeats(now=100)] == ["ops", "am"]
    assert [
        p.receiver.name
        for p in groups.due_repeats(now=200, busy=[("ops", am.notification.group_key)])
    ] == ["am"]


def test_a_late_firing_copy_older_than_its_resolution_is_ignored() -> None:
    groups = book()
    alert = firing()
    groups.on_alert(alert, now=0)
    groups.on_alert(resolved(alert), now=1)
    assert groups.on_alert(alert, now=2) == []  # a redelivery of the old firing message
    assert groups.due_repeats(now=1000) == []
    refired = firing(timestamp=resolved(alert).timestamp.replace(minute=30))
    assert len(groups.on_alert(refired, now=3)) == 2


def test_the_backoff_doubles_up_to_its_ceiling_and_stops_at_the_give_up() -> None:
    policy = RetryPolicy(initial_seconds=1, max_seconds=8, give_up_seconds=30)
    assert [policy.delay(n) for n in range(1, 7)] == [1, 2, 4, 8, 8, 8]
    assert policy.next_delay(3, elapsed_seconds=20) == 4
    assert policy.next_delay(3, elapsed_seconds=27) is None


def test_alerts_taken_up_at_start_repeat_from_then_and_notify_if_they_come_again() -> None:
    groups = book()
    alert = firing()
    assert groups.seed([alert, resolved(firing("fp-old"))], now=0) == 2  # ops and am
    assert groups.on_alert(firing("fp-other", host="elsewhere"), now=1)  # others as before
    assert [plan.receiver.name for plan in groups.due_repeats(now=100)] == ["ops", "am", "am"]
    # The same alert from the durable (a stopped notifier had not settled it): notified.
    assert [plan.receiver.name for plan in groups.on_alert(alert, now=101)] == ["ops", "am"]
    assert groups.on_alert(alert, now=102) == []  # and from then on as any other
