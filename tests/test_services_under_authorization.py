"""The five real services, each with its own NATS user, against the stack's authorized server.

Every service's credentials must do its whole job: the probe and the collector publish
persistently, storage ingests them and answers the gateway's queries, alerting keeps its
state in its bucket, the gateway's control reaches the probe and the collector, and no
service is refused anything along the way (its heartbeats carry the bus counters, where a
refusal shows as `permission_errors`).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import nats
import nats.js.errors
import ollama
import pytest
from blockbuster import BlockBuster
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from pydantic import SecretStr

from ollama_emulator.config import fast_config
from ollama_emulator.server import running_emulator
from ollamon_alerting.management import ThresholdChange
from ollamon_alerting.service import running_alerting
from ollamon_alerting.settings import AlertingSettings
from ollamon_cli.backup import request_backup
from ollamon_cli.nats_server import free_port
from ollamon_cli.nats_target import NatsTarget
from ollamon_cli.stack import create_streams
from ollamon_collector.service import running_collector
from ollamon_collector.settings import CollectorSettings
from ollamon_core import subjects
from ollamon_core.bus import encode
from ollamon_core.events import Heartbeat, MonitoringAction, MonitoringControl, ThresholdUpdate
from ollamon_core.permissions import ADMIN_USER
from ollamon_gateway.service import running_gateway
from ollamon_gateway.settings import GatewaySettings
from ollamon_probe.service import running_probe
from ollamon_probe.settings import ProbeSettings
from ollamon_storage.service import running_storage
from ollamon_storage.settings import StorageSettings
from tests.support.nats_auth import AuthorizedNats, authorized_nats_server
from tests.support.waiting import wait_for, wait_for_async

API = "/api/ai/ollama/performance"
SERVICES = ("storage", "alerting", "collector", "probe", "gateway")
MODEL = "llama3.2:1b"

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def authorized(tmp_path: Path) -> Iterator[AuthorizedNats]:
    with authorized_nats_server(tmp_path / "data") as running:
        yield running


def login(authorized: AuthorizedNats, user: str) -> dict[str, object]:
    return {
        "nats_url": authorized.url,
        "nats_user": user,
        "nats_password": SecretStr(authorized.password(user)),
        "host_label": "test-host",
        "heartbeat_interval_seconds": 0.2,
    }


class Heartbeats:
    """The latest heartbeat of each service, as the admin sees them."""

    def __init__(self) -> None:
        self.latest: dict[str, Heartbeat] = {}

    async def keep(self, msg: Msg) -> None:
        beat = Heartbeat.model_validate_json(msg.data)
        self.latest[beat.service.value] = beat


@contextlib.asynccontextmanager
async def admin_connection(authorized: AuthorizedNats) -> AsyncIterator[NatsClient]:
    nc = await nats.connect(
        authorized.url, user=ADMIN_USER, password=authorized.password(ADMIN_USER)
    )
    try:
        yield nc
    finally:
        await nc.drain()


@contextlib.asynccontextmanager
async def five_services(
    authorized: AuthorizedNats, ollama_url: str, tmp_path: Path
) -> AsyncIterator[tuple[str, str]]:
    """Every service in this process, each as its own user; yields (gateway, proxy) URLs."""
    gateway_port, proxy_port = free_port(), free_port()
    async with contextlib.AsyncExitStack() as stack:
        await stack.enter_async_context(
            running_storage(
                StorageSettings.model_validate(
                    login(authorized, "storage")
                    | {"storage_path": tmp_path / "db", "batch_interval_seconds": 0.02}
                )
            )
        )
        await stack.enter_async_context(
            running_alerting(AlertingSettings.model_validate(login(authorized, "alerting")))
        )
        await stack.enter_async_context(
            running_collector(
                CollectorSettings.model_validate(
                    login(authorized, "collector") | {"monitoring_interval_seconds": 0.5}
                )
            )
        )
        await stack.enter_async_context(
            running_probe(
                ProbeSettings.model_validate(
                    login(authorized, "probe")
                    | {
                        "ollama_urls": [ollama_url],
                        "proxy_port": proxy_port,
                        "monitoring_interval_seconds": 0.5,
                    }
                )
            )
        )
        await stack.enter_async_context(
            running_gateway(
                GatewaySettings.model_validate(
                    login(authorized, "gateway") | {"gateway_port": gateway_port}
                )
            )
        )
        yield f"http://127.0.0.1:{gateway_port}", f"http://127.0.0.1:{proxy_port}"


async def test_each_service_does_its_whole_job_as_its_own_nats_user(
    authorized: AuthorizedNats, tmp_path: Path, blockbuster: BlockBuster
) -> None:
    # The gateway finds and reads its dashboard files once, as it builds its routes.
    for function in blockbuster.functions.values():
        function.can_block_in("ollamon_gateway/routes/dashboard.py", "dashboard_routes")
    await create_streams(authorized.url, authorized.login(ADMIN_USER))
    heartbeats = Heartbeats()
    async with (
        running_emulator(fast_config()) as ollama_url,
        admin_connection(authorized) as admin,
        five_services(authorized, ollama_url, tmp_path) as (gateway_url, proxy_url),
        httpx.AsyncClient(base_url=gateway_url, timeout=10) as http,
    ):
        await admin.subscribe(subjects.HEARTBEAT_ALL, cb=heartbeats.keep)
        reply = await ollama.AsyncClient(host=proxy_url).generate(MODEL, "Why is the sky blue?")
        assert reply.done

        # Probe -> stream -> storage -> the gateway's query -> storage's reply.
        async def summary_has_the_request() -> bool:
            body = (await http.get(f"{API}/summary")).json()
            return any(m["model_name"] == MODEL for m in body.get("models", []))

        await wait_for_async(summary_has_the_request, timeout=15, message="request in summary")

        # Collector -> stream -> storage.
        async def system_samples_stored() -> bool:
            body = (await http.get(f"{API}/system", params={"hours": 1})).json()
            return bool(body.get("samples"))

        await wait_for_async(system_samples_stored, timeout=15, message="system samples stored")

        # An operator (the admin) changes a threshold; alerting keeps it in its bucket.
        update = ThresholdUpdate(host="operator", rule="response_time_ms", threshold=12345.0)
        await admin.publish(subjects.CONTROL_THRESHOLD, encode(update))
        bucket = await admin.jetstream().key_value(subjects.ALERT_STATE_BUCKET)

        async def threshold_kept() -> bool:
            try:
                entry = await bucket.get("threshold.slow_response")
            except nats.js.errors.KeyNotFoundError:
                return False
            kept = ThresholdChange.model_validate_json(entry.value or b"{}")
            return kept.threshold == 12345.0

        await wait_for_async(threshold_kept, timeout=10, message="threshold in the bucket")

        # The gateway manages alerting as its own user: a silence over REST, which alerting
        # audits and storage keeps for the alerts answer.
        made = await http.post(
            f"{API}/silences",
            json={"match_model": MODEL, "author": "ops", "duration_seconds": 600},
        )
        assert made.status_code == 201, made.text

        async def silence_audited() -> bool:
            body = (await http.get(f"{API}/alerts")).json()
            return any(entry["action"] == "silence_created" for entry in body.get("audit", []))

        await wait_for_async(silence_audited, timeout=15, message="the silence audited")

        # A benchmark run: the gateway asks the probe, which runs it through its proxy and
        # publishes the run; storage keeps it and answers the gateway's benchmarks query.
        started = await http.post(
            f"{API}/benchmarks",
            json={"models": [MODEL], "cases": ["short_chat"], "repetitions": 1, "force": True},
        )
        assert started.status_code == 202, started.text
        run_id = started.json()["run_id"]

        async def run_stored() -> bool:
            body = (await http.get(f"{API}/benchmarks")).json()
            return any(run["run_id"] == run_id for run in body.get("runs", []))

        await wait_for_async(run_stored, timeout=15, message="the benchmark run stored")

        # The gateway's control reaches the probe and the collector.
        stop = await http.post(
            f"{API}/monitoring/stop",
            headers={"Origin": gateway_url, "Content-Type": "application/json"},
        )
        assert stop.status_code == 200, stop.text
        await wait_for(
            lambda: all(
                heartbeats.latest.get(name) is not None
                and heartbeats.latest[name].state != "running"
                for name in ("probe", "collector")
            ),
            timeout=10,
            message="probe and collector paused by the gateway",
        )

        # `ollamon backup` asks storage as the command line's user.
        assert "backup written to" in await request_backup(
            NatsTarget.given(authorized.url, authorized.login("cli"))
        )

        await wait_for(lambda: set(heartbeats.latest) >= set(SERVICES), timeout=10)
        refused = {
            name: beat.counters.get("permission_errors", 0.0)
            for name, beat in heartbeats.latest.items()
        }
        assert refused == dict.fromkeys(refused, 0.0)


async def test_a_control_message_sent_with_the_probes_credentials_is_refused(
    authorized: AuthorizedNats,
) -> None:
    await create_streams(authorized.url, authorized.login(ADMIN_USER))
    refusals: list[str] = []

    async def keep(error: Exception) -> None:
        refusals.append(str(error))

    nc = await nats.connect(
        authorized.url,
        user="probe",
        password=authorized.password("probe"),
        error_cb=keep,
        allow_reconnect=False,
    )
    try:
        control = MonitoringControl(host="x", action=MonitoringAction.STOP)
        await nc.publish(subjects.CONTROL_MONITORING, encode(control))
        await wait_for(lambda: refusals, timeout=5, message="the server's refusal")
    finally:
        await nc.close()
    assert "permissions violation" in refusals[0]
