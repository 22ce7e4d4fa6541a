"""Settings of the notifier, read from `OLLAMON_NOTIFIER_*` variables (and, for the simple
case, `OLLAMON_ALERT_WEBHOOK_URLS`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import BeforeValidator, Field, SecretStr
from pydantic_settings import SettingsConfigDict

from ollamon_core.settings import ServiceSettings, UrlList


def _empty_is_none(value: object) -> object:
    return None if isinstance(value, str) and not value.strip() else value


# Compose passes an unset variable as an empty string: that means "none".
OptionalPath = Annotated[Path | None, BeforeValidator(_empty_is_none)]
OptionalSecret = Annotated[SecretStr | None, BeforeValidator(_empty_is_none)]


class NotifierSettings(ServiceSettings):
    """Where alerts go (the env webhooks and the routing file) and how hard to try.

    A notification is tried until a receiver takes it, with a backoff that doubles from
    `retry_initial_seconds` up to `retry_max_seconds`; one still failing `give_up_seconds`
    after its alert came in is dead-lettered.
    """

    model_config = SettingsConfigDict(env_prefix="OLLAMON_NOTIFIER_")

    webhook_urls: UrlList = Field(
        default=[],
        validation_alias="OLLAMON_ALERT_WEBHOOK_URLS",
        description="Webhook URL(s), comma-separated, sent every alert in Alertmanager's "
        "webhook format (receivers `webhook-1`, `webhook-2`, ...)",
    )
    webhook_secret: OptionalSecret = Field(
        default=None,
        validation_alias="OLLAMON_ALERT_WEBHOOK_SECRET",
        description="Key of the HMAC-SHA256 signature header of the webhooks of "
        "`OLLAMON_ALERT_WEBHOOK_URLS` (none when unset)",
    )
    routes_file: OptionalPath = Field(
        default=None,
        description="Routing file (YAML or TOML): receivers, and routes with matchers, "
        "grouping and repeat intervals",
    )
    repeat_interval_seconds: float = Field(
        default=3600.0,
        gt=0,
        description="Seconds between repeat notifications of a still-firing alert, for "
        "routes that set none",
    )
    alertmanager_resend_seconds: float = Field(
        default=60.0,
        gt=0,
        description="Seconds between re-sends of firing alerts to an Alertmanager (its "
        "endsAt is four of these ahead, as Prometheus does)",
    )
    retry_initial_seconds: float = Field(
        default=1.0, gt=0, description="Backoff after a notification's first failed attempt"
    )
    retry_max_seconds: float = Field(
        default=60.0, gt=0, description="Longest backoff between attempts (it doubles up to this)"
    )
    give_up_seconds: float = Field(
        default=3600.0,
        gt=0,
        description="A notification still failing this long after its alert came in is "
        "dead-lettered",
    )
    timeout_seconds: float = Field(
        default=10.0, gt=0, description="Timeout of one attempt (HTTP request or SMTP session)"
    )
