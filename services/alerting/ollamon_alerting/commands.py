"""Alerting's commands and management requests: thresholds, silences, acknowledgements, and
what is in force now (for the gateway).

Handlers only do I/O: the decisions are the engine's and its controls' (pure code). A
command that does not validate never gets here (the bus dead-letters it); one that
validates but is refused is counted, logged and changes nothing. Every accepted change is
kept in the state bucket and told as an `AlertAudit` on `ollamon.audit.alerting`.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from ollamon_alerting.rules import ThresholdRejectedError, UnknownRuleError
from ollamon_alerting.silences import SilenceRejectedError
from ollamon_core import subjects
from ollamon_core.bus import QueryFailedError
from ollamon_core.events import (
    AlertAcknowledgement,
    AlertAcknowledgementReply,
    Silence,
    SilencesQuery,
    SilencesReply,
    ThresholdsQuery,
    ThresholdsReply,
    ThresholdUpdate,
)
from ollamon_core.events.queries import QueryError

if TYPE_CHECKING:
    from ollamon_alerting.service import AlertingService

log = logging.getLogger(__name__)

NOT_FOUND = 404


class Commands:
    """The command and request handlers of one alerting service."""

    def __init__(self, service: AlertingService) -> None:
        self.service = service

    async def subscribe(self) -> list[Subscription]:
        """Subscribe to the control subjects and serve the management routes."""
        bus = self.service.bus
        return [
            await bus.subscribe(subjects.CONTROL_THRESHOLD, self.on_threshold),
            await bus.subscribe(subjects.CONTROL_SILENCE, self.on_silence),
            await bus.serve(subjects.CONTROL_ACK, self.on_acknowledge),
            await bus.serve(subjects.CONTROL_SILENCES, self.on_silences),
            await bus.serve(subjects.CONTROL_THRESHOLDS, self.on_thresholds),
        ]

    async def on_threshold(self, update: ThresholdUpdate, _msg: Msg) -> None:
        """Change a threshold; keep it and audit it."""
        service = self.service
        try:
            rule, change, audit = service.engine.controls.set_threshold(update, service.clock())
        except (UnknownRuleError, ThresholdRejectedError) as error:
            service.bus.counters["threshold_updates_rejected"] += 1
            log.warning("threshold update rejected: %s", error)
            return
        service.bus.counters["threshold_updates"] += 1
        log.info("threshold of %s set to %s by %r", rule, update.threshold, update.author)
        service.emit(audit)
        await service.guard(service.store.save_threshold(rule, change))

    async def on_silence(self, silence: Silence, _msg: Msg) -> None:
        """Add, replace or expire a silence; keep it and audit it."""
        service = self.service
        try:
            accepted, in_force, audit = service.engine.controls.add_silence(
                silence, service.clock()
            )
        except SilenceRejectedError as error:
            service.bus.counters["silences_rejected"] += 1
            log.warning("silence rejected: %s", error)
            return
        service.bus.counters["silences_received"] += 1
        log.info("silence %s %s", silence.silence_id, "in force" if in_force else "lifted")
        if audit is not None:
            service.emit(audit)
        await service.guard(service.store.save_silence(accepted, in_force))

    async def on_acknowledge(self, ack: AlertAcknowledgement) -> AlertAcknowledgementReply:
        """Acknowledge a firing alert; a fingerprint not firing is answered with a 404."""
        service = self.service
        done = service.engine.acknowledge(ack, service.clock())
        if done is None:
            service.bus.counters["acknowledgements_rejected"] += 1
            raise QueryFailedError(
                QueryError(
                    error=f"no alert with fingerprint {ack.fingerprint!r} is firing",
                    status_code=NOT_FOUND,
                )
            )
        reply, audit, alert = done
        service.bus.counters["acknowledgements"] += 1
        log.info("alert %s acknowledged by %r", ack.fingerprint, ack.author)
        service.emit(alert)
        service.emit(audit)
        await service.persist()
        return reply

    async def on_silences(self, _query: SilencesQuery) -> SilencesReply:
        """The silences in force now."""
        return self.service.engine.controls.silences_reply(self.service.clock())

    async def on_thresholds(self, _query: ThresholdsQuery) -> ThresholdsReply:
        """Every rule's threshold, with its default and bounds."""
        return self.service.engine.controls.thresholds_reply()

    async def expire_silences(self) -> None:
        """Drop silences that reached their end time: purge them and audit it."""
        service = self.service
        expired, audits = service.engine.controls.expire_silences(service.clock())
        for silence, audit in zip(expired, audits, strict=True):
            log.info("silence %s reached its end time", silence.silence_id)
            service.emit(audit)
            await service.guard(service.store.save_silence(silence, in_force=False))
