"""Silences: hold back notifications of alerts matching alertname/host/model/severity until they
expire."""

from __future__ import annotations

from datetime import datetime

from ollamon_alerting.rules import RULE_SPECS
from ollamon_core.events import Severity, Silence
from ollamon_core.events.limits import CLOCK_SKEW, MAX_SILENCE, MAX_SILENCE_DAYS


class SilenceRejectedError(ValueError):
    """A silence that would last longer than `limits.MAX_SILENCE_DAYS` from now."""


def check_silence(silence: Silence, now: datetime) -> None:
    """Refuse a silence that ends more than the longest silence from `now`.

    The event checks this against its own timestamp, which the sender sets; alerting checks
    it again from its own clock (allowing `limits.CLOCK_SKEW`).

    Raises:
        SilenceRejectedError: `expires_at` is too far ahead.
    """
    if silence.expires_at > now + MAX_SILENCE + CLOCK_SKEW:
        raise SilenceRejectedError(
            f"silence {silence.silence_id!r} would last until {silence.expires_at.isoformat()}, "
            f"more than {MAX_SILENCE_DAYS} days from now"
        )


def silence_matches(
    silence: Silence,
    rule: str,
    host: str,
    model_name: str | None,
    severity: Severity | None = None,
) -> bool:
    """True when every matcher the silence sets equals the alert's (unset matches any).

    `match_alertname` may name the rule by its alert type or by its setting.
    """
    return (
        (silence.match_alertname is None or silence.match_alertname in _rule_names(rule))
        and (silence.match_host is None or silence.match_host == host)
        and (silence.match_model is None or silence.match_model == model_name)
        and (silence.match_severity is None or silence.match_severity == severity)
    )


def _rule_names(rule: str) -> set[str]:
    """The names a silence may give a rule: its alert type, and its setting if it has one."""
    for spec in RULE_SPECS.values():
        if spec.name == rule and spec.setting is not None:
            return {rule, spec.setting}
    return {rule}


class SilenceBook:
    """The silences in force, by id."""

    def __init__(self) -> None:
        self.silences: dict[str, Silence] = {}

    def add(self, silence: Silence, now: datetime) -> bool:
        """Add or replace a silence; one already expired removes its id instead.

        Returns:
            True when the silence is now in force.

        Raises:
            SilenceRejectedError: it would last longer than the longest silence.
        """
        check_silence(silence, now)
        if silence.expires_at <= now:
            self.silences.pop(silence.silence_id, None)
            return False
        self.silences[silence.silence_id] = silence
        return True

    def expire(self, now: datetime) -> list[Silence]:
        """Drop silences past their expiry; returns them."""
        expired = [silence for silence in self.silences.values() if silence.expires_at <= now]
        for silence in expired:
            del self.silences[silence.silence_id]
        return expired

    def silenced(
        self,
        rule: str,
        host: str,
        model_name: str | None,
        now: datetime,
        severity: Severity | None = None,
    ) -> bool:
        """True when a silence in force matches."""
        return any(
            silence.expires_at > now and silence_matches(silence, rule, host, model_name, severity)
            for silence in self.silences.values()
        )
