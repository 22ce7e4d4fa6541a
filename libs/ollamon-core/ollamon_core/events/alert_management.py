"""Managing alerts: acknowledgements, the audit trail, and what alerting is set to now.

Silences and threshold changes are control messages (`control.py`); an acknowledgement is a
request answered by alerting (so the caller learns whether the alert was firing); the
active silences and the current thresholds are request/reply (`subjects.CONTROL_SILENCES`,
`subjects.CONTROL_THRESHOLDS`). Every change alerting accepts is told as an `AlertAudit`,
which the stream keeps.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import AwareDatetime, Field

from ollamon_core.events.base import Event, FrozenModel
from ollamon_core.events.control import Silence
from ollamon_core.events.limits import Author, Comment, Fingerprint


class AlertAcknowledgement(Event):
    """Acknowledge a firing alert: it stays firing but is not notified again while it lasts.

    The acknowledgement ends with the alert (a later alert of the same rule, host and model
    is notified again).
    """

    kind: str = Field(default="alert_acknowledgement", pattern="^alert_acknowledgement$")
    fingerprint: Fingerprint
    author: Author = ""
    comment: Comment = ""


class AlertAcknowledgementReply(FrozenModel):
    """The alert alerting acknowledged (a fingerprint not firing is answered with a 404)."""

    fingerprint: str
    alert_type: str
    host: str
    model_name: str | None = None
    acknowledged_by: str
    acknowledged_at: AwareDatetime


class SilencesQuery(FrozenModel):
    """Ask alerting for the silences in force now."""


class SilencesReply(FrozenModel):
    """The silences in force now, soonest to expire first."""

    silences: list[Silence] = Field(default_factory=list)


class ThresholdsQuery(FrozenModel):
    """Ask alerting for every rule's threshold now, with its bounds and its default."""


class RuleThreshold(FrozenModel):
    """One rule's threshold: in force now, from the settings, and the values it may take.

    `rule` is the alerts' `alert_type`; `setting` is the `OLLAMON_ALERT_<SETTING>` field,
    which a `ThresholdUpdate` may also name. `minimum`/`maximum` are inclusive unless the
    matching `*_exclusive` flag is set. `updated_at`/`updated_by` tell the last accepted
    runtime change (None: the setting's value).
    """

    rule: str
    setting: str
    title: str
    unit: str
    threshold: float
    default: float
    minimum: float | None = None
    minimum_exclusive: bool = False
    maximum: float | None = None
    maximum_exclusive: bool = False
    updated_at: AwareDatetime | None = None
    updated_by: str | None = None


class ThresholdsReply(FrozenModel):
    """Every rule that has a threshold, in the order of the rules table."""

    thresholds: list[RuleThreshold] = Field(default_factory=list)


class AuditAction(StrEnum):
    """What changed in alerting's management state."""

    THRESHOLD_CHANGED = "threshold_changed"
    SILENCE_CREATED = "silence_created"
    SILENCE_UPDATED = "silence_updated"
    SILENCE_EXPIRED = "silence_expired"
    ALERT_ACKNOWLEDGED = "alert_acknowledged"


class AlertAudit(Event):
    """One accepted change: a threshold, a silence made, changed or expired, an acknowledgement.

    `host` is alerting's own label. `author` and `comment` come from the command (a silence
    that reached its end time is expired by alerting itself: author "alerting"). The rest
    depends on `action`: `rule`, `threshold`, `previous_threshold` for a threshold; `silence`
    (as accepted) for a silence; `fingerprint`, `rule`, `alert_host`, `model_name` for an
    acknowledgement.
    """

    kind: str = Field(default="alert_audit", pattern="^alert_audit$")
    action: AuditAction
    author: str = ""
    comment: str = ""
    rule: str | None = None
    threshold: float | None = None
    previous_threshold: float | None = None
    silence: Silence | None = None
    fingerprint: str | None = None
    alert_host: str | None = None
    model_name: str | None = None
