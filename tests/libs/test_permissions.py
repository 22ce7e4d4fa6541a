"""The NATS permission table: every service has a user, and the basics every service needs."""

from __future__ import annotations

import pytest

from ollamon_core import permissions, subjects
from ollamon_core.events import ServiceName
from ollamon_core.permissions import SERVICE_PERMISSIONS, inbox_prefix


def test_every_service_has_a_nats_user() -> None:
    assert set(SERVICE_PERMISSIONS) == set(ServiceName)
    users = permissions.user_permissions()
    assert {service.value for service in ServiceName} <= set(users)
    assert users[permissions.ADMIN_USER] is None


@pytest.mark.parametrize("service", sorted(set(ServiceName) - {ServiceName.CLI}))
def test_every_service_may_beat_dead_letter_and_read_its_own_inbox_only(
    service: ServiceName,
) -> None:
    rules = SERVICE_PERMISSIONS[service]
    assert subjects.heartbeat_subject(service) in rules.publish
    assert subjects.deadletter_subject(service) in rules.publish
    inboxes = [pattern for pattern in rules.subscribe if pattern.startswith("_INBOX")]
    assert inboxes == [f"{inbox_prefix(service.value)}.>"]


def test_only_the_services_that_answer_requests_may_reply() -> None:
    answering = {service for service, rules in SERVICE_PERMISSIONS.items() if rules.allow_responses}
    assert answering == {ServiceName.STORAGE, ServiceName.PROBE, ServiceName.ALERTING}


def test_the_gateway_may_ask_alerting_what_it_manages_and_change_it() -> None:
    gateway = SERVICE_PERMISSIONS[ServiceName.GATEWAY].publish
    alerting = SERVICE_PERMISSIONS[ServiceName.ALERTING]
    for route in (subjects.CONTROL_ACK, subjects.CONTROL_SILENCES, subjects.CONTROL_THRESHOLDS):
        assert route.subject in gateway
        assert route.subject in alerting.subscribe
    assert {subjects.CONTROL_THRESHOLD, subjects.CONTROL_SILENCE} <= set(gateway)
    assert subjects.AUDIT_ALERTING in alerting.publish


def test_the_probe_answers_benchmark_requests_and_publishes_their_progress_and_runs() -> None:
    probe = SERVICE_PERMISSIONS[ServiceName.PROBE]
    # Any probe's route and each host's own (`ollamon.control.benchmark.<host>`).
    routes = (subjects.CONTROL_BENCHMARK.subject, subjects.CONTROL_BENCHMARK_HOSTS)
    assert set(routes) <= set(probe.subscribe)
    assert {subjects.BENCHMARK_PROGRESS, subjects.BENCHMARK_RUNS} <= set(probe.publish)
    for asker in (ServiceName.GATEWAY, ServiceName.CLI):
        rules = SERVICE_PERMISSIONS[asker]
        assert set(routes) <= set(rules.publish)
        assert {subjects.BENCHMARK_PROGRESS, subjects.BENCHMARK_RUNS} <= set(rules.subscribe)
    # An edge's probe is asked through the leaf link and answers (to the gateway's or the
    # command line's inbox) and sends its progress through it.
    leaf = permissions.LEAF_PERMISSIONS
    assert set(routes) <= set(leaf.subscribe)
    assert subjects.BENCHMARK_PROGRESS in leaf.publish
    for asker in (ServiceName.GATEWAY, ServiceName.CLI):
        assert f"{inbox_prefix(asker.value)}.>" in leaf.publish
    assert subjects.BENCHMARK_RUNS in subjects.EDGE_STREAM_SUBJECTS


@pytest.mark.parametrize("host", ["gpu-b", "edge b.local", "x" * 255])
def test_a_hosts_benchmark_route_is_one_token_under_the_routes_the_permissions_name(
    host: str,
) -> None:
    route = subjects.benchmark_route(host)
    assert subjects.subject_matches(subjects.CONTROL_BENCHMARK_HOSTS, route.subject)
    assert route.subject != subjects.CONTROL_BENCHMARK.subject
    assert subjects.benchmark_route(None) is subjects.CONTROL_BENCHMARK


def test_the_command_line_may_ask_storage_for_the_stored_benchmarks() -> None:
    cli = SERVICE_PERMISSIONS[ServiceName.CLI]
    assert subjects.QUERY_BENCHMARKS.subject in cli.publish
    assert subjects.QUERY_BENCHMARKS.subject.startswith(subjects.QUERY_ALL[:-1])
