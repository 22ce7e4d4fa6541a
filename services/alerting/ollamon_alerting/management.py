"""What operators change: thresholds and silences, each accepted change audited (pure code).

`Controls` holds the thresholds in force (the settings' values until changed at runtime) and
the silences; every accepted change returns the `AlertAudit` to publish. Refused commands
raise and change nothing. It also answers what is in force now (`SilencesReply`,
`ThresholdsReply`).
"""

from __future__ import annotations

from datetime import datetime

from pydantic import AwareDatetime, BaseModel

from ollamon_alerting.rules import (
    RULE_SPECS,
    RuleName,
    ThresholdRange,
    ThresholdRejectedError,
    check_threshold,
    resolve_rule,
    thresholds_from_settings,
)
from ollamon_alerting.settings import AlertingSettings
from ollamon_alerting.silences import SilenceBook, SilenceRejectedError, check_silence
from ollamon_core.events import (
    AlertAudit,
    AuditAction,
    RuleThreshold,
    Silence,
    SilencesReply,
    ThresholdsReply,
    ThresholdUpdate,
)

# The author of what alerting does by itself (a silence that reached its end time).
ALERTING_AUTHOR = "alerting"


class ThresholdChange(BaseModel):
    """A runtime threshold, who set it and when (kept in the state bucket)."""

    threshold: float
    updated_at: AwareDatetime | None = None
    updated_by: str | None = None


class Controls:
    """The thresholds and silences in force."""

    def __init__(self, settings: AlertingSettings) -> None:
        self.defaults: dict[RuleName, float] = thresholds_from_settings(settings)
        self.thresholds: dict[RuleName, float] = dict(self.defaults)
        self.changes: dict[RuleName, ThresholdChange] = {}
        self.silences = SilenceBook()

    def set_threshold(
        self, update: ThresholdUpdate, now: datetime
    ) -> tuple[RuleName, ThresholdChange, AlertAudit]:
        """Change one rule's threshold (by alert type or setting name).

        Raises:
            UnknownRuleError: when the rule is unknown.
            ThresholdRejectedError: when the threshold is outside the rule's range.
        """
        rule = resolve_rule(update.rule)
        check_threshold(rule, update.threshold)
        previous = self.thresholds[rule]
        self.thresholds[rule] = update.threshold
        change = ThresholdChange(
            threshold=update.threshold, updated_at=now, updated_by=update.author
        )
        self.changes[rule] = change
        audit = AlertAudit(
            timestamp=now,
            action=AuditAction.THRESHOLD_CHANGED,
            author=update.author,
            comment=update.comment,
            rule=rule.value,
            threshold=update.threshold,
            previous_threshold=previous,
        )
        return rule, change, audit

    def add_silence(
        self, silence: Silence, now: datetime
    ) -> tuple[Silence, bool, AlertAudit | None]:
        """Add, replace or (with an `expires_at` past) expire a silence.

        Returns:
            The silence as accepted (`created_at` set when its id is new, kept otherwise),
            whether it is in force now, and its audit (None for lifting an id not in force).

        Raises:
            SilenceRejectedError: when it would last longer than the longest silence.
        """
        previous = self.silences.silences.get(silence.silence_id)
        created_at = previous.created_at if previous is not None else None
        accepted = silence.model_copy(update={"created_at": created_at or now})
        in_force = self.silences.add(accepted, now)
        if in_force and previous is None:
            action = AuditAction.SILENCE_CREATED
        elif in_force:
            action = AuditAction.SILENCE_UPDATED
        elif previous is not None:
            action = AuditAction.SILENCE_EXPIRED
        else:
            return accepted, False, None
        audit = AlertAudit(
            timestamp=now,
            action=action,
            author=silence.author,
            comment=silence.comment,
            silence=accepted,
        )
        return accepted, in_force, audit

    def expire_silences(self, now: datetime) -> tuple[list[Silence], list[AlertAudit]]:
        """Drop the silences that reached their end time, with their audits."""
        expired = self.silences.expire(now)
        audits = [
            AlertAudit(
                timestamp=now,
                action=AuditAction.SILENCE_EXPIRED,
                author=ALERTING_AUTHOR,
                comment="reached its end time",
                silence=silence,
            )
            for silence in expired
        ]
        return expired, audits

    def restore(
        self, silences: list[Silence], thresholds: dict[RuleName, ThresholdChange], now: datetime
    ) -> tuple[list[Silence], list[RuleName]]:
        """Take up kept silences and thresholds, held to the same checks as live commands.

        Returns:
            The silences and thresholds refused, for the caller to drop from the bucket.
        """
        refused_silences = []
        for silence in silences:
            try:
                check_silence(silence, now)
            except SilenceRejectedError:
                refused_silences.append(silence)
                continue
            # One that ended while alerting was down is expired (purged, audited) at the
            # first evaluation; until then it silences nothing.
            self.silences.silences[silence.silence_id] = silence
        refused_rules = []
        for rule, change in thresholds.items():
            try:
                check_threshold(rule, change.threshold)
            except ThresholdRejectedError:
                refused_rules.append(rule)
                continue
            self.thresholds[rule] = change.threshold
            self.changes[rule] = change
        return refused_silences, refused_rules

    def silences_reply(self, now: datetime) -> SilencesReply:
        """The silences in force now, soonest to expire first."""
        in_force = [s for s in self.silences.silences.values() if s.expires_at > now]
        return SilencesReply(silences=sorted(in_force, key=lambda s: (s.expires_at, s.silence_id)))

    def thresholds_reply(self) -> ThresholdsReply:
        """Every rule with a threshold: in force, default, bounds, last change."""
        found = []
        for spec in RULE_SPECS.values():
            if spec.setting is None:
                continue
            bounds = ThresholdRange.of_setting(spec.setting)
            change = self.changes.get(spec.name)
            found.append(
                RuleThreshold(
                    rule=spec.name.value,
                    setting=spec.setting,
                    title=spec.title,
                    unit=spec.unit,
                    threshold=self.thresholds[spec.name],
                    default=self.defaults[spec.name],
                    minimum=_finite(bounds.low),
                    minimum_exclusive=not bounds.low_inclusive,
                    maximum=_finite(bounds.high),
                    maximum_exclusive=not bounds.high_inclusive,
                    updated_at=change.updated_at if change else None,
                    updated_by=change.updated_by if change else None,
                )
            )
        return ThresholdsReply(thresholds=found)


def _finite(value: float) -> float | None:
    return value if abs(value) != float("inf") else None
