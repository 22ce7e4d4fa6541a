"""What the fault tests watch from outside: heartbeats, alerts, service processes, traffic.

Each observer is a plain nats-py subscriber or a client over loopback, as an operator's
tool would be; none of them reaches into a service.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

import httpx
import psutil
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from pydantic import ValidationError

from ollamon_cli.stack_services import SHARED_PROCESS_NAME
from ollamon_core.events import AlertState, Heartbeat, OllamaPerformanceAlert
from tests.support.stack import RunningStack, processes_by_service

SERVICES = ("collector", "probe", "alerting", "storage", "gateway", "notifier")


@dataclass(frozen=True)
class SeenHeartbeat:
    """A heartbeat and when it arrived here (monotonic clock)."""

    arrived_at: float
    heartbeat: Heartbeat


@dataclass
class HeartbeatLog:
    """Every heartbeat seen on `ollamon.heartbeat.>`, in arrival order."""

    seen: list[SeenHeartbeat] = field(default_factory=list)

    async def on_message(self, msg: Msg) -> None:
        """nats-py callback; what is not a heartbeat (a fault test's junk) is ignored."""
        try:
            heartbeat = Heartbeat.model_validate_json(msg.data)
        except ValidationError:
            return
        self.seen.append(SeenHeartbeat(time.monotonic(), heartbeat))

    def latest(self, service: str) -> Heartbeat | None:
        """The newest heartbeat of `service`."""
        for seen in reversed(self.seen):
            if seen.heartbeat.service == service:
                return seen.heartbeat
        return None

    def counter(self, service: str, name: str) -> float:
        """A counter from the newest heartbeat of `service` (0 when absent)."""
        latest = self.latest(service)
        return latest.counters.get(name, 0.0) if latest else 0.0

    def first_sent_after(self, service: str, wall_time: datetime) -> SeenHeartbeat | None:
        """The first heartbeat of `service` stamped after `wall_time` (sent, not buffered)."""
        for seen in self.seen:
            if seen.heartbeat.service == service and seen.heartbeat.timestamp > wall_time:
                return seen
        return None

    def services_alive(self) -> set[str]:
        """Services that sent at least one heartbeat."""
        return {str(seen.heartbeat.service) for seen in self.seen}


@dataclass
class AlertLog:
    """Every alert seen on `ollamon.alerts.>`."""

    alerts: list[OllamaPerformanceAlert] = field(default_factory=list)
    arrivals: list[float] = field(default_factory=list)

    async def on_message(self, msg: Msg) -> None:
        """nats-py callback; what is not an alert (a fault test's junk) is ignored."""
        try:
            alert = OllamaPerformanceAlert.model_validate_json(msg.data)
        except ValidationError:
            return
        self.alerts.append(alert)
        self.arrivals.append(time.monotonic())

    def of(
        self, alert_type: str, state: AlertState, model_name: str | None = None
    ) -> list[OllamaPerformanceAlert]:
        """Alerts of one rule and state (and model, when given)."""
        return [
            alert
            for alert in self.alerts
            if alert.alert_type == alert_type
            and alert.state is state
            and (model_name is None or alert.model_name == model_name)
        ]

    def first_arrival(
        self, alert_type: str, state: AlertState, after: float, model_name: str | None = None
    ) -> float | None:
        """Monotonic arrival time of the first such alert (of `model_name`) after `after`."""
        for alert, arrived_at in zip(self.alerts, self.arrivals, strict=True):
            if (
                alert.alert_type == alert_type
                and alert.state is state
                and alert.model_name == model_name
                and arrived_at > after
            ):
                return arrived_at
        return None


async def watch(nc: NatsClient, subject: str, log: HeartbeatLog | AlertLog) -> None:
    """Subscribe `log` to `subject` and make sure the server has the interest."""
    await nc.subscribe(subject, cb=log.on_message)
    await nc.flush()


async def service_processes(stack: RunningStack) -> dict[str, psutil.Process]:
    """The process of each service `ollamon up` supervises, by service name (the same one
    for all of them by default; read off the loop)."""
    return await asyncio.to_thread(_service_processes, stack)


async def service_pids(stack: RunningStack) -> dict[str, int]:
    """The process id of each service `ollamon up` supervises."""
    return {name: process.pid for name, process in (await service_processes(stack)).items()}


def _service_processes(stack: RunningStack) -> dict[str, psutil.Process]:
    return {
        name: process for name, process in processes_by_service(stack).items() if name in SERVICES
    }


def kill_reports(stack: RunningStack, service: str) -> list[str]:
    """Lines where the supervisor reported the process running `service` killed (SIGKILL) and
    restarted it: the services' one process (`services`) by default, else `service`'s own."""
    return [
        line
        for line in stack.output
        for name in (service, SHARED_PROCESS_NAME)
        if f"service {name} exited with code -9; restarting" in line
    ]


def restarts_reported(stack: RunningStack) -> list[str]:
    """Lines where the supervisor reported restarting a crashed service."""
    return [line for line in stack.output if "restarting" in line and "service " in line]


@dataclass
class SteadyTraffic:
    """Non-streamed `/api/generate` requests at a steady rate, with what came back."""

    base_url: str
    model: str = "llama3.2:1b"
    requests_per_second: float = 20.0
    stream: bool = False
    outcomes: Counter[str] = field(default_factory=Counter)
    error_bodies: list[dict[str, object]] = field(default_factory=list)
    _task: asyncio.Task[None] | None = None

    @property
    def answered(self) -> int:
        """Requests that got an HTTP answer (any status)."""
        return sum(count for outcome, count in self.outcomes.items() if outcome.isdigit())

    def start(self) -> None:
        """Begin sending in the background."""
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        """Stop sending and wait for the requests in flight."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        period_seconds = 1.0 / self.requests_per_second
        in_flight: set[asyncio.Task[None]] = set()
        async with httpx.AsyncClient(base_url=self.base_url, timeout=10.0) as client:
            try:
                while True:
                    task = asyncio.create_task(self._one(client))
                    in_flight.add(task)
                    task.add_done_callback(in_flight.discard)
                    await asyncio.sleep(period_seconds)
            finally:
                # Let the requests already sent finish, so every answer is counted.
                if in_flight:
                    await asyncio.wait(in_flight, timeout=10)

    async def _one(self, client: httpx.AsyncClient) -> None:
        body = {"model": self.model, "prompt": "steady", "stream": self.stream}
        try:
            async with client.stream("POST", "/api/generate", json=body) as response:
                content = b"".join([chunk async for chunk in response.aiter_bytes()])
        except httpx.HTTPError as error:
            self.outcomes[type(error).__name__] += 1
            return
        self.outcomes[str(response.status_code)] += 1
        if response.status_code >= 400:
            try:
                self.error_bodies.append(json.loads(content))
            except ValueError:
                self.error_bodies.append({"unparsed": content.decode(errors="replace")})
