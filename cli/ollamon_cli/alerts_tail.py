"""`ollamon alerts`: print every alert published on NATS as one readable line.

It is what any user can do with a few lines of nats-py: connect as the read-only `alerts`
user, subscribe to `ollamon.alerts.>` (or one severity) and read JSON
`OllamaPerformanceAlert` events.
"""

from __future__ import annotations

import asyncio
from typing import TextIO

import nats
from nats.aio.msg import Msg
from pydantic import ValidationError

from ollamon_core import subjects
from ollamon_core.bus import NatsLogin
from ollamon_core.events import OllamaPerformanceAlert, Severity


def format_alert(alert: OllamaPerformanceAlert) -> str:
    """One line: time, state, severity, rule, where, message, recommendation."""
    where = f"{alert.host}/{alert.model_name}" if alert.model_name else alert.host
    line = (
        f"{alert.timestamp:%Y-%m-%d %H:%M:%S} {alert.state.value.upper():<8} "
        f"{alert.severity.value:<8} {alert.alert_type:<28} {where}  {alert.message}"
    )
    if alert.recommendation and alert.state.value == "firing":
        line += f"  -> {alert.recommendation}"
    return line


def alerts_pattern(severity: str | None) -> str:
    """The subject to tail: every alert, or one severity's.

    Raises:
        ValueError: when `severity` is not a severity.
    """
    return subjects.ALERTS_ALL if severity is None else subjects.alerts_subject(Severity(severity))


async def tail_alerts(
    nats_url: str, severity: str | None, stream: TextIO, *, login: NatsLogin | None = None
) -> None:
    """Print each alert on `stream` as one line until cancelled."""
    pattern = alerts_pattern(severity)
    nc = await nats.connect(nats_url, **(await (login or NatsLogin()).options()))

    async def show(msg: Msg) -> None:
        try:
            alert = OllamaPerformanceAlert.model_validate_json(msg.data)
        except ValidationError as error:
            stream.write(f"unreadable alert on {msg.subject}: {error.error_count()} errors\n")
        else:
            stream.write(format_alert(alert) + "\n")
        stream.flush()

    try:
        await nc.subscribe(pattern, cb=show)
        await nc.flush()
        await asyncio.Event().wait()  # until cancelled
    finally:
        await nc.drain()
