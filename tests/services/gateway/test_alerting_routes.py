"""Managing alerting over REST: the gateway and the real alerting service on a real NATS
server (storage too, for the audit trail), over real HTTP."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import httpx
import pytest
from nats.aio.msg import Msg

from ollamon_alerting.service import AlertingService
from ollamon_core.bus import Bus
from ollamon_core.events import ServiceName, utc_now
from ollamon_gateway.settings import GatewaySettings
from ollamon_storage.service import running_storage
from tests.conftest import BusFactory
from tests.services.alerting.factories import request
from tests.services.gateway.conftest import SettingsFactory
from tests.services.gateway.test_rest import assert_problem
from tests.services.storage.conftest import make_settings as storage_settings
from tests.services.storage.conftest import wait_for_ready
from tests.support.waiting import wait_for, wait_for_async

API = "/api/ai/ollama/performance"
TOKEN = "management-token"
SLOW_MS = 45_000.0
Client = httpx.AsyncClient


class AlertInbox:
    """A plain subscriber on `ollamon.alerts.>`."""

    def __init__(self) -> None:
        self.alerts: list[dict[str, Any]] = []

    async def on_message(self, msg: Msg) -> None:
        self.alerts.append(json.loads(msg.data))

    def models(self) -> list[str | None]:
        return [alert["model_name"] for alert in self.alerts]


@pytest.fixture
def settings(make_settings: SettingsFactory) -> GatewaySettings:
    # Alerting answers in milliseconds; a second leaves room on a busy machine.
    return make_settings(nats_request_timeout_seconds=2.0)


@pytest.fixture
async def inbox(bus_factory: BusFactory) -> AlertInbox:
    box = AlertInbox()
    listener = await bus_factory(ServiceName.CLI)
    await listener.nc.subscribe("ollamon.alerts.>", cb=box.on_message)
    await listener.nc.flush()
    return box


@pytest.fixture
async def probe_bus(bus_factory: BusFactory) -> Bus:
    return await bus_factory(ServiceName.PROBE)


async def slow_until_alerted(probe_bus: Bus, inbox: AlertInbox, model: str) -> None:
    """Send slow requests for `model` until an alert of it arrives (the first message after
    a new subscription may go undelivered)."""

    async def alerted() -> bool:
        await probe_bus.publish(request(model_name=model, response_time_ms=SLOW_MS))
        return model in inbox.models()

    await wait_for_async(alerted, timeout=10, message=f"an alert for {model}")


async def create_silence(client: Client, **body: object) -> httpx.Response:
    values: dict[str, object] = {
        "author": "ops",
        "comment": "maintenance",
        "duration_seconds": 3600,
    }
    return await client.post(f"{API}/silences", json=values | body)


async def test_a_silence_made_over_rest_holds_a_matching_alert_back(
    client: Client, alerting: AlertingService, probe_bus: Bus, inbox: AlertInbox
) -> None:
    made = await create_silence(
        client, match_model="silenced-model", match_alertname="slow_response"
    )
    assert made.status_code == 201, made.text
    silence = made.json()
    assert made.headers["location"] == f"{API}/silences/{silence['silence_id']}"
    assert (silence["author"], silence["comment"]) == ("ops", "maintenance")
    assert silence["created_at"] is not None
    listed = (await client.get(f"{API}/silences")).json()["silences"]
    assert [s["silence_id"] for s in listed] == [silence["silence_id"]]

    for _ in range(5):
        await probe_bus.publish(request(model_name="silenced-model", response_time_ms=SLOW_MS))
    await slow_until_alerted(probe_bus, inbox, "loud-model")
    assert "silenced-model" not in inbox.models()
    assert alerting.bus.counters["silences_received"] == 1


async def test_an_expired_silence_lets_the_alert_through(
    client: Client, alerting: AlertingService, probe_bus: Bus, inbox: AlertInbox
) -> None:
    silence = (await create_silence(client, match_model="m1")).json()
    expired = await client.delete(
        f"{API}/silences/{silence['silence_id']}", params={"author": "ops", "comment": "done"}
    )
    assert expired.status_code == 200, expired.text
    body = expired.json()
    assert (body["match_model"], body["author"], body["comment"]) == ("m1", "ops", "done")
    assert (await client.get(f"{API}/silences")).json()["silences"] == []
    await slow_until_alerted(probe_bus, inbox, "m1")
    again = await client.delete(f"{API}/silences/{silence['silence_id']}", params={"author": "x"})
    assert_problem(again, 404, silence["silence_id"])


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"match_model": None}, "at least one matcher"),
        ({"match_model": "m", "ends_at": "2099-01-01T00:00:00Z"}, "exactly one"),
        ({"match_model": "m", "duration_seconds": None}, "exactly one"),
        ({"match_model": "m", "duration_seconds": 31 * 86400}, "duration_seconds"),
        ({"match_model": "m", "duration_seconds": 0}, "duration_seconds"),
        ({"match_model": "m", "duration_seconds": "3600"}, "duration_seconds"),
        ({"match_model": "m", "author": ""}, "author"),
        ({"match_model": "m", "author": "a" * 129}, "author"),
        ({"match_model": "m", "comment": "c" * 1001}, "comment"),
        ({"match_severity": "dire"}, "match_severity"),
        ({"match_model": "m", "matchers": []}, "matchers"),
    ],
)
async def test_a_bad_silence_is_a_400_problem_and_reaches_nobody(
    client: Client, alerting: AlertingService, body: dict[str, object], reason: str
) -> None:
    assert_problem(await create_silence(client, **body), 400, reason)
    assert alerting.bus.counters["silences_received"] == 0


async def test_a_silence_ending_in_the_past_is_a_400(
    client: Client, alerting: AlertingService
) -> None:
    past = (utc_now() - timedelta(minutes=1)).isoformat()
    response = await create_silence(client, match_model="m", duration_seconds=None, ends_at=past)
    assert_problem(response, 400, "not in the future")


async def test_thresholds_are_listed_changed_within_bounds_and_refused_outside(
    client: Client, alerting: AlertingService
) -> None:
    listed = await client.get(f"{API}/thresholds")
    assert listed.status_code == 200, listed.text
    rules = {item["rule"]: item for item in listed.json()["thresholds"]}
    slow = rules["slow_response"]
    assert slow["threshold"] == slow["default"]

    changed = await client.put(
        f"{API}/thresholds/slow_response",
        json={"threshold": 1234.5, "author": "ops", "comment": "tighter"},
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json()["threshold"], changed.json()["updated_by"]) == (1234.5, "ops")
    by_setting = await client.put(
        f"{API}/thresholds/{slow['setting']}", json={"threshold": 2000, "author": "ops"}
    )
    assert by_setting.status_code == 200, by_setting.text
    relisted = {
        item["rule"]: item for item in (await client.get(f"{API}/thresholds")).json()["thresholds"]
    }
    assert relisted["slow_response"]["threshold"] == 2000

    percent = next(item for item in rules.values() if item["maximum"] == 100)
    refused = await client.put(
        f"{API}/thresholds/{percent['rule']}", json={"threshold": 150, "author": "ops"}
    )
    problem = assert_problem(refused, 422, percent["rule"], "100")
    assert problem["maximum"] == 100
    assert alerting.bus.counters["threshold_updates"] == 2


@pytest.mark.parametrize(
    ("path", "body", "status", "reason"),
    [
        ("slow_response", {"threshold": "fast", "author": "ops"}, 400, "threshold"),
        ("slow_response", {"threshold": True, "author": "ops"}, 400, "threshold"),
        ("slow_response", {"threshold": -1, "author": "ops"}, 400, "threshold"),
        ("slow_response", {"threshold": 5}, 400, "author"),
        ("no_such_rule", {"threshold": 5, "author": "ops"}, 404, "no_such_rule"),
    ],
)
async def test_a_bad_threshold_change_is_a_4xx_problem_never_a_500(
    client: Client,
    alerting: AlertingService,
    path: str,
    body: dict[str, object],
    status: int,
    reason: str,
) -> None:
    assert_problem(await client.put(f"{API}/thresholds/{path}", json=body), status, reason)
    assert alerting.bus.counters["threshold_updates"] == 0


async def test_a_firing_alert_is_acknowledged_and_an_unknown_one_is_404(
    client: Client, alerting: AlertingService, probe_bus: Bus, inbox: AlertInbox
) -> None:
    await slow_until_alerted(probe_bus, inbox, "ack-model")
    fingerprint = inbox.alerts[0]["fingerprint"]
    done = await client.post(
        f"{API}/alerts/{fingerprint}/acknowledge", json={"author": "ops", "comment": "on it"}
    )
    assert done.status_code == 200, done.text
    assert (done.json()["fingerprint"], done.json()["acknowledged_by"]) == (fingerprint, "ops")
    await wait_for(
        lambda: any(alert.get("acknowledged_by") == "ops" for alert in inbox.alerts),
        message="the acknowledged alert republished",
    )
    unknown = await client.post(f"{API}/alerts/nothing-firing/acknowledge", json={"author": "ops"})
    assert_problem(unknown, 404, "nothing-firing")


async def test_every_change_is_in_the_audit_trail_of_alerts(
    client: Client, alerting: AlertingService, tmp_path: Any, clean_nats_url: str
) -> None:
    storage = storage_settings(tmp_path / "data", clean_nats_url)
    async with running_storage(storage):
        await wait_for_ready(storage)
        silence = (await create_silence(client, match_host="box-9")).json()
        await client.delete(f"{API}/silences/{silence['silence_id']}", params={"author": "ann"})
        await client.put(
            f"{API}/thresholds/slow_response",
            json={"threshold": 5000, "author": "bob", "comment": "noisy"},
        )

        async def audited() -> list[dict[str, Any]] | None:
            answer = (await client.get(f"{API}/alerts")).json()
            return answer["audit"] if len(answer["audit"]) == 3 else None

        audit = await wait_for_async(audited, timeout=15, message="three audit entries")
    assert isinstance(audit, list)
    assert [(entry["action"], entry["author"]) for entry in audit] == [
        ("threshold_changed", "bob"),
        ("silence_expired", "ann"),
        ("silence_created", "ops"),
    ]
    assert (audit[0]["rule"], audit[0]["threshold"], audit[0]["comment"]) == (
        "slow_response",
        5000,
        "noisy",
    )
    assert audit[2]["silence"]["match_host"] == "box-9"


async def test_without_alerting_the_answer_is_a_503_naming_it(client: Client) -> None:
    response = await client.get(f"{API}/silences")
    assert_problem(response, 503, "alerting")
    assert response.headers["retry-after"]


class TestGuards:
    """The same guards as every POST: the token when set, the gateway's own origin, JSON."""

    @pytest.fixture
    def settings(self, make_settings: SettingsFactory) -> GatewaySettings:
        return make_settings(api_token=TOKEN, nats_request_timeout_seconds=2.0)

    CHANGES: tuple[tuple[str, str, dict[str, object] | None], ...] = (
        ("POST", "/silences", {"match_model": "m", "author": "a", "duration_seconds": 60}),
        ("DELETE", "/silences/some-id?author=a", None),
        ("POST", "/alerts/some-fingerprint/acknowledge", {"author": "a"}),
        ("PUT", "/thresholds/slow_response", {"threshold": 5, "author": "a"}),
    )

    @pytest.mark.parametrize(("method", "path", "body"), CHANGES)
    async def test_a_change_without_the_token_is_401_and_changes_nothing(
        self,
        client: Client,
        alerting: AlertingService,
        method: str,
        path: str,
        body: dict[str, object] | None,
    ) -> None:
        response = await client.request(method, f"{API}{path}", json=body)
        assert_problem(response, 401, "Authorization: Bearer")
        wrong = await client.request(
            method, f"{API}{path}", json=body, headers={"Authorization": "Bearer nope"}
        )
        assert_problem(wrong, 401, "not the one configured")
        counters = alerting.bus.counters
        assert counters["silences_received"] + counters["threshold_updates"] == 0
        assert counters["acknowledgements"] + counters["acknowledgements_rejected"] == 0

    @pytest.mark.parametrize(("method", "path", "body"), CHANGES)
    async def test_a_change_from_another_site_is_403_even_with_the_token(
        self,
        client: Client,
        alerting: AlertingService,
        method: str,
        path: str,
        body: dict[str, object] | None,
    ) -> None:
        headers = {"Authorization": f"Bearer {TOKEN}", "Origin": "http://evil.example"}
        response = await client.request(method, f"{API}{path}", json=body, headers=headers)
        assert_problem(response, 403, "cross-origin")
        assert alerting.bus.counters["silences_received"] == 0

    async def test_a_form_body_is_415(self, client: Client, alerting: AlertingService) -> None:
        response = await client.put(
            f"{API}/thresholds/slow_response",
            content=b"threshold=5&author=a",
            headers={
                "Authorization": f"Bearer {TOKEN}",
                "Content-Type": "application/x-www-form-urlencoded",
            },
        )
        assert_problem(response, 415, "application/json")

    async def test_reads_stay_open_and_the_token_or_the_own_origin_lets_changes_through(
        self, client: Client, alerting: AlertingService, live_server: Any
    ) -> None:
        assert (await client.get(f"{API}/silences")).status_code == 200
        assert (await client.get(f"{API}/thresholds")).status_code == 200
        with_token = await client.put(
            f"{API}/thresholds/slow_response",
            json={"threshold": 7000, "author": "script"},
            headers={"Authorization": f"Bearer {TOKEN}"},
        )
        assert with_token.status_code == 200, with_token.text
        # The dashboard (same origin) still needs the token when one is set, as every POST.
        same_origin = await client.put(
            f"{API}/thresholds/slow_response",
            json={"threshold": 8000, "author": "dashboard"},
            headers={"Authorization": f"Bearer {TOKEN}", "Sec-Fetch-Site": "same-origin"},
        )
        assert same_origin.status_code == 200, same_origin.text
