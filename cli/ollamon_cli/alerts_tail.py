"""`ollamon alerts`: what fires now, then every alert published on NATS, one line each.

It connects as the command line's NATS user (`cli`), subscribes to `ollamon.alerts.>` (or
one severity) first, asks storage (`ollamon.query.alerts`) for the alerts firing now and
prints them, then prints what arrived meanwhile and what follows. A user's own client does
the following part with a few lines of nats-py as the read-only `alerts` user.
"""

from __future__ import annotations

import asyncio
import sys
from typing import TextIO

from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from pydantic import ValidationError
from rich.console import Console
from rich.text import Text

from ollamon_cli.nats_target import NatsTarget, connect
from ollamon_cli.terminal import SEVERITY_STYLES, console_for
from ollamon_core import subjects
from ollamon_core.bus.requests import QueryFailedError, ServiceUnavailableError, request
from ollamon_core.events import OllamaPerformanceAlert, Severity
from ollamon_core.events.queries import AlertsQuery

FIRING_QUERY_TIMEOUT_SECONDS = 5.0


def format_alert(alert: OllamaPerformanceAlert) -> str:
    """One line: time, state, severity, rule, where, message, recommendation."""
    return alert_text(alert).plain


def alert_text(alert: OllamaPerformanceAlert) -> Text:
    """`format_alert`'s line, with the state and severity styled for a terminal."""
    where = f"{alert.host}/{alert.model_name}" if alert.model_name else alert.host
    firing = alert.state.value == "firing"
    text = Text(f"{alert.timestamp:%Y-%m-%d %H:%M:%S} ")
    text.append(f"{alert.state.value.upper():<8}", style="bold" if firing else "green")
    text.append(" ")
    text.append(f"{alert.severity.value:<8}", style=SEVERITY_STYLES.get(alert.severity.value, ""))
    text.append(f" {alert.alert_type:<28} {where}  {alert.message}")
    if alert.recommendation and firing:
        text.append(f"  -> {alert.recommendation}", style="dim")
    return text


def alerts_pattern(severity: str | None) -> str:
    """The subject to tail: every alert, or one severity's.

    Raises:
        ValueError: when `severity` is not a severity.
    """
    return subjects.ALERTS_ALL if severity is None else subjects.alerts_subject(Severity(severity))


async def tail_alerts(
    target: NatsTarget,
    severity: str | None,
    stream: TextIO,
    *,
    notes: TextIO | None = None,
) -> None:
    """Print the alerts firing now, then each alert on `stream` as one line, until cancelled.

    `notes` (stderr by default) gets what is said about the alerts: how many fire now,
    that storage did not answer, that NATS went away and came back.

    Raises:
        CommandError: NATS does not answer, or refuses the login.
    """
    pattern = alerts_pattern(severity)
    out = console_for(stream)
    said = console_for(notes or sys.stderr)

    async def lost() -> None:
        said.print(f"ollamon: NATS at {target.public_url} went away; waiting", style="yellow")

    async def back() -> None:
        said.print(f"ollamon: NATS at {target.public_url} is back", style="green")

    nc = await connect(target, on_disconnect=lost, on_reconnect=back)
    arrived: asyncio.Queue[Msg] = asyncio.Queue()
    try:

        async def keep(msg: Msg) -> None:
            arrived.put_nowait(msg)

        await nc.subscribe(pattern, cb=keep)
        await nc.flush()
        await _print_firing(nc, severity, out, said)
        said.print("following new alerts (Ctrl-C to stop)", style="dim")
        while True:
            _show(await arrived.get(), out)
    finally:
        await nc.drain()


async def _print_firing(nc: NatsClient, severity: str | None, out: Console, said: Console) -> None:
    query = AlertsQuery(
        severity=Severity(severity) if severity else None,
        limit=1,
        audit_limit=0,
        delivery_limit=0,
    )
    try:
        reply = await request(
            nc, subjects.QUERY_ALERTS, query, timeout=FIRING_QUERY_TIMEOUT_SECONDS
        )
    except (ServiceUnavailableError, QueryFailedError) as error:
        said.print(f"ollamon: what fires now is unknown: storage did not answer ({error})")
        return
    firing = sorted(reply.active, key=lambda alert: alert.timestamp)
    said.print(f"firing now: {len(firing)}", style="bold" if firing else "green")
    for alert in firing:
        out.print(alert_text(alert))


def _show(msg: Msg, out: Console) -> None:
    try:
        alert = OllamaPerformanceAlert.model_validate_json(msg.data)
    except ValidationError as error:
        out.print(f"unreadable alert on {msg.subject}: {error.error_count()} errors")
    else:
        out.print(alert_text(alert))
