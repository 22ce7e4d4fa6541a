"""The routing configuration: receivers, and routes that send matching alerts to them.

Read from `OLLAMON_ALERT_WEBHOOK_URLS` (every alert to each URL, in Alertmanager's webhook
format) and from the routing file `OLLAMON_NOTIFIER_ROUTES_FILE` (YAML, or TOML when it
ends in `.toml`):

```yaml
receivers:
  - {name: ops, kind: webhook, url: "https://hooks.example/ollamon", hmac_secret: "..."}
  - {name: am, kind: alertmanager, url: "http://alertmanager:9093"}
  - {name: chat, kind: slack, url: "https://hooks.slack.com/services/..."}
  - {name: phone, kind: ntfy, url: "https://ntfy.sh/my-topic", token: "tk_..."}
  - name: mail
    kind: email
    smtp_host: smtp.example.com
    smtp_port: 587
    username: ollamon
    password: "..."
    sender: ollamon@example.com
    to: [ops@example.com]
routes:
  - receivers: [chat, mail]
    match: {severity: [high, critical]}
    group_by: [alertname, host]
    repeat_interval_seconds: 1800
  - receivers: [ops, am]          # no match: every alert
```

Every route whose matchers all match an alert notifies its receivers; a receiver named by
several matching routes is notified once, by the first. Pure: loading reads a file, the
rest is plain functions over models.
"""

from __future__ import annotations

import hashlib
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator

from ollamon_core.events import OllamaPerformanceAlert, ReceiverKind, Severity
from ollamon_core.redaction import redact_url

ENV_WEBHOOK_PREFIX = "webhook"
# Labels an alert carries (and routes match and group on).
LABELS = ("alertname", "severity", "host", "model", "fingerprint")
GROUP_EVERY_LABEL = "..."
DEFAULT_GROUP_BY = ("alertname", "host", "model")
RECEIVER_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_\-]{0,63}$"


class RoutingError(Exception):
    """The routing configuration cannot be used (the message says where and why)."""


class _Config(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Receiver(_Config):
    """Where notifications go. `url` is for the HTTP kinds, the `smtp_*` fields for email.

    Secrets (`hmac_secret`, `token`, `password`, header values, a URL's userinfo or key
    parameters) are used to send and never shown: `public_url` is what logs and events say.
    """

    name: str = Field(pattern=RECEIVER_NAME_PATTERN)
    kind: ReceiverKind
    url: str | None = None
    hmac_secret: SecretStr | None = None
    headers: dict[str, SecretStr] = Field(default_factory=dict)
    token: SecretStr | None = None
    smtp_host: str | None = None
    smtp_port: int = Field(default=587, ge=1, le=65535)
    username: str | None = None
    password: SecretStr | None = None
    starttls: bool = True
    ca_file: Path | None = None
    sender: str | None = None
    to: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _complete(self) -> Receiver:
        if self.kind is ReceiverKind.EMAIL:
            if not self.smtp_host or not self.sender or not self.to:
                raise ValueError("an email receiver needs smtp_host, sender and to")
            for address in (self.sender, *self.to):
                if "@" not in address or any(c in address for c in "\r\n,"):
                    raise ValueError(f"not one email address: {address!r}")
        elif not self.url or not self.url.startswith(("http://", "https://")):
            raise ValueError(f"a {self.kind.value} receiver needs an http(s) url")
        return self

    @property
    def public_url(self) -> str:
        """Where it sends, without secrets: scheme, host and port only, since many webhook
        services (Slack, Discord, Teams, Mattermost) put the secret in the path."""
        if self.kind is ReceiverKind.EMAIL:
            return f"smtp://{self.smtp_host}:{self.smtp_port}"
        parts = urlsplit(redact_url(self.url or ""))
        host = parts.netloc.rpartition("@")[2]
        hidden = "/…" if parts.path.strip("/") or parts.query else ""
        return f"{parts.scheme}://{host}{hidden}"


class Route(_Config):
    """Which alerts go to which receivers, grouped how, repeated how often while firing.

    `match` maps a label (`alertname`, `severity`, `host`, `model`) to the values it may
    take; an empty match takes every alert. `group_by` names the labels that make a
    group (one notification carries the group's firing alerts); `["..."]` makes every
    alert its own group.
    """

    receivers: list[str] = Field(min_length=1)
    match: dict[str, list[str]] = Field(default_factory=dict)
    group_by: list[str] = Field(default_factory=lambda: list(DEFAULT_GROUP_BY))
    repeat_interval_seconds: float | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _known_labels(self) -> Route:
        for label in self.match:
            if label not in LABELS:
                raise ValueError(f"match on unknown label {label!r} (labels: {', '.join(LABELS)})")
        for value in self.match.get("severity", []):
            if value not in {severity.value for severity in Severity}:
                raise ValueError(f"unknown severity {value!r}")
        for label in self.group_by:
            if label not in (*LABELS, GROUP_EVERY_LABEL):
                raise ValueError(f"group_by names unknown label {label!r}")
        return self

    def matches(self, labels: Mapping[str, str]) -> bool:
        """True when every matcher of this route takes the alert's labels."""
        return all(labels.get(label, "") in values for label, values in self.match.items())

    def group_key(self, labels: Mapping[str, str]) -> str:
        """The key of the alert's group under this route (Alertmanager's `groupKey` shape)."""
        names = LABELS if GROUP_EVERY_LABEL in self.group_by else self.group_by
        inner = ",".join(f'{name}="{labels.get(name, "")}"' for name in names)
        return "{}:{" + inner + "}"


class Routing(_Config):
    """Every receiver and route, checked: names unique, routes naming known receivers."""

    receivers: list[Receiver] = Field(default_factory=list)
    routes: list[Route] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> Routing:
        names = [receiver.name for receiver in self.receivers]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"receiver names used twice: {', '.join(duplicates)}")
        for index, route in enumerate(self.routes):
            unknown = [name for name in route.receivers if name not in names]
            if unknown:
                raise ValueError(f"route {index + 1} names unknown receivers: {', '.join(unknown)}")
        return self

    def receiver(self, name: str) -> Receiver:
        """The receiver called `name`."""
        return next(receiver for receiver in self.receivers if receiver.name == name)

    def targets(self, labels: Mapping[str, str]) -> list[tuple[Route, Receiver]]:
        """Each receiver the alert goes to, with the first matching route that names it."""
        chosen: dict[str, tuple[Route, Receiver]] = {}
        for route in self.routes:
            if not route.matches(labels):
                continue
            for name in route.receivers:
                chosen.setdefault(name, (route, self.receiver(name)))
        return list(chosen.values())


def alert_labels(alert: OllamaPerformanceAlert) -> dict[str, str]:
    """The labels of an alert, as routes and Alertmanager see them."""
    labels = {
        "alertname": alert.alert_type,
        "severity": alert.severity.value,
        "host": alert.host,
        "fingerprint": alert_fingerprint(alert),
    }
    if alert.model_name:
        labels["model"] = alert.model_name
    return labels


def alert_fingerprint(alert: OllamaPerformanceAlert) -> str:
    """The alert's fingerprint; one made from its identity when it has none."""
    if alert.fingerprint:
        return alert.fingerprint
    identity = f"{alert.alert_type}\x00{alert.host}\x00{alert.model_name or ''}"
    return hashlib.sha256(identity.encode()).hexdigest()[:16]


def env_routing(urls: Iterable[str], secret: SecretStr | None) -> Routing:
    """The simple case: every alert to each URL, in Alertmanager's webhook format."""
    receivers = [
        Receiver(
            name=f"{ENV_WEBHOOK_PREFIX}-{index}",
            kind=ReceiverKind.WEBHOOK,
            url=url,
            hmac_secret=secret,
        )
        for index, url in enumerate(urls, start=1)
    ]
    routes = [Route(receivers=[receiver.name for receiver in receivers])] if receivers else []
    return Routing(receivers=receivers, routes=routes)


def parse_routing(text: str, *, toml: bool, source: str = "routing file") -> Routing:
    """A routing configuration from YAML (or TOML) text; RoutingError says what is wrong."""
    try:
        data: Any = tomllib.loads(text) if toml else yaml.safe_load(text)
    except (tomllib.TOMLDecodeError, yaml.YAMLError) as error:
        raise RoutingError(f"{source}: not valid {'TOML' if toml else 'YAML'}: {error}") from error
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise RoutingError(f"{source}: expected a mapping with 'receivers' and 'routes'")
    try:
        return Routing.model_validate(data)
    except ValidationError as error:
        raise RoutingError(f"{source}: {_problems(error)}") from None


def load_routing(path: Path) -> Routing:
    """Read the routing file at `path` (blocking: call it before the loop, or in a thread)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise RoutingError(f"routing file {path}: cannot be read: {error.strerror}") from None
    return parse_routing(text, toml=path.suffix == ".toml", source=f"routing file {path}")


def read_routing(
    webhook_urls: Iterable[str], webhook_secret: SecretStr | None, routes_file: Path | None
) -> Routing:
    """The env webhooks and the routing file together (blocking: reads the file)."""
    parts = [env_routing(webhook_urls, webhook_secret)]
    if routes_file is not None:
        parts.append(load_routing(routes_file))
    return combine(*parts)


def combine(*routings: Routing) -> Routing:
    """One configuration holding every receiver and route of `routings` (checked again)."""
    try:
        return Routing(
            receivers=[receiver for routing in routings for receiver in routing.receivers],
            routes=[route for routing in routings for route in routing.routes],
        )
    except ValidationError as error:
        raise RoutingError(_problems(error)) from None


def _problems(error: ValidationError) -> str:
    # The location and message of each problem; never the input (it may hold a secret).
    parts = []
    for problem in error.errors(include_input=False, include_url=False):
        where = ".".join(str(part) for part in problem["loc"])
        message = problem["msg"].removeprefix("Value error, ")
        parts.append(f"{where}: {message}" if where else message)
    return "; ".join(parts)
