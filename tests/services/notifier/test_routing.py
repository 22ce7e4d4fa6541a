"""The routing configuration: env webhooks, a YAML or TOML file, matchers, and clear errors
for a bad file that never show a secret."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from ollamon_core.events import ReceiverKind
from ollamon_notifier.routing import (
    RoutingError,
    alert_labels,
    combine,
    env_routing,
    load_routing,
    parse_routing,
)
from tests.services.notifier.factories import firing

GOOD_YAML = """
receivers:
  - {name: ops, kind: webhook, url: "https://hooks.example/x?token=abc", hmac_secret: k}
  - {name: am, kind: alertmanager, url: "http://am:9093"}
  - name: mail
    kind: email
    smtp_host: smtp.example.com
    sender: ollamon@example.com
    to: [ops@example.com]
routes:
  - receivers: [mail]
    match: {severity: [critical]}
    group_by: [alertname]
    repeat_interval_seconds: 600
  - receivers: [ops, am, mail]
"""


def test_env_webhooks_send_every_alert_to_each_url() -> None:
    routing = env_routing(["http://a/x", "http://b/y"], SecretStr("key"))
    targets = routing.targets(alert_labels(firing()))
    assert [receiver.name for _, receiver in targets] == ["webhook-1", "webhook-2"]
    assert all(receiver.kind is ReceiverKind.WEBHOOK for _, receiver in targets)
    assert env_routing([], None).receivers == []


def test_a_routing_file_routes_by_matchers_and_names_a_receiver_once() -> None:
    routing = parse_routing(GOOD_YAML, toml=False)
    high = routing.targets(alert_labels(firing()))
    critical = routing.targets(alert_labels(firing(severity="critical")))
    assert [receiver.name for _, receiver in high] == ["ops", "am", "mail"]
    assert [receiver.name for _, receiver in critical] == ["mail", "ops", "am"]
    route, _ = critical[0]
    assert route.repeat_interval_seconds == 600
    assert route.group_key(alert_labels(firing())) == '{}:{alertname="slow_response"}'


def test_a_toml_routing_file_reads_the_same() -> None:
    routing = parse_routing(
        """
[[receivers]]
name = "chat"
kind = "slack"
url = "https://hooks.slack.com/services/T/B/X"

[[routes]]
receivers = ["chat"]
match = {host = ["gpu-box"], model = ["llama3.2:1b"]}
""",
        toml=True,
    )
    assert [r.name for _, r in routing.targets(alert_labels(firing()))] == ["chat"]
    assert routing.targets(alert_labels(firing(host="other"))) == []


def test_a_receiver_shows_where_it_sends_without_path_query_or_credentials() -> None:
    routing = parse_routing(GOOD_YAML, toml=False)
    assert routing.receiver("ops").public_url == "https://hooks.example/…"
    assert routing.receiver("am").public_url == "http://am:9093"
    assert routing.receiver("mail").public_url == "smtp://smtp.example.com:587"
    slack = parse_routing(
        "receivers: [{name: chat, kind: slack, "
        "url: 'https://u:pw@hooks.slack.com/services/T0/B0/SECRETPATH'}]",
        toml=False,
    )
    assert slack.receiver("chat").public_url == "https://hooks.slack.com/…"
    assert "k" not in repr(routing.receiver("ops").hmac_secret)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("receivers: [", "not valid YAML"),
        ("- just a list", "expected a mapping"),
        (
            "receivers: [{name: a, kind: webhook, url: 'http://x'}]\nroutes: [{receivers: [b]}]",
            "route 1 names unknown receivers: b",
        ),
        (
            "receivers: [{name: a, kind: pager, url: 'http://x'}]",
            "receivers.0.kind: Input should be",
        ),
        ("receivers: [{name: a, kind: webhook}]", "a webhook receiver needs an http(s) url"),
        ("receivers: [{name: a, kind: email, smtp_host: h}]", "needs smtp_host, sender and to"),
        (
            "receivers: [{name: a, kind: webhook, url: 'http://x'}]\n"
            "routes: [{receivers: [a], match: {colour: [red]}}]",
            "match on unknown label 'colour'",
        ),
        (
            "receivers: [{name: a, kind: webhook, url: 'http://x'}]\n"
            "routes: [{receivers: [a], match: {severity: [urgent]}}]",
            "unknown severity 'urgent'",
        ),
        (
            "receivers: [{name: a, kind: webhook, url: 'http://x'}, "
            "{name: a, kind: slack, url: 'http://y'}]",
            "receiver names used twice: a",
        ),
        ("receivers: [{name: a, kind: webhook, url: 'http://x', colour: 1}]", "colour"),
    ],
)
def test_a_bad_routing_file_is_refused_with_where_and_why(text: str, problem: str) -> None:
    with pytest.raises(RoutingError) as raised:
        parse_routing(text, toml=False, source="routing file r.yaml")
    assert str(raised.value).startswith("routing file r.yaml: ")
    assert problem in str(raised.value)


def test_a_refusal_never_repeats_a_secret_from_the_file() -> None:
    text = (
        "receivers:\n  - {name: mail, kind: email, smtp_host: h, password: hunter2, "
        "to: [a@b], sender: 5}\n  - {name: x, kind: webhook, url: 'ftp://u:hunter2@h'}"
    )
    with pytest.raises(RoutingError) as raised:
        parse_routing(text, toml=False)
    assert "hunter2" not in str(raised.value)


def test_a_missing_file_is_named_in_the_refusal(tmp_path: Path) -> None:
    with pytest.raises(RoutingError, match=r"routing file .*nowhere.yaml: cannot be read"):
        load_routing(tmp_path / "nowhere.yaml")


def test_env_and_file_receivers_with_one_name_are_refused() -> None:
    file_part = parse_routing(
        "receivers: [{name: webhook-1, kind: webhook, url: 'http://x'}]", toml=False
    )
    with pytest.raises(RoutingError, match="receiver names used twice: webhook-1"):
        combine(env_routing(["http://y"], None), file_part)


def test_an_email_address_that_is_not_one_address_is_refused() -> None:
    text = (
        "receivers: [{name: m, kind: email, smtp_host: h, sender: a@b, "
        'to: ["ops@example.com\\nBcc: all@example.com"]}]'
    )
    with pytest.raises(RoutingError, match="not one email address"):
        parse_routing(text, toml=False)
