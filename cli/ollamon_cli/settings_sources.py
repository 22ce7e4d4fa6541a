"""`ollamon settings`: the value of every setting in effect here, and where it came from.

Each service's settings class reads the environment at its start (the stack's children
inherit `ollamon`'s), so what this command sees is what `ollamon up` started from here
would use. A value comes from the environment, from the file given with `--env-file`
(loaded into the environment by `env_file.py`, the environment winning), or is the
default. Secrets (passwords, tokens, webhook secrets) show only whether they are set; a
URL shows no credentials, and a webhook only its origin (a Slack, Discord or Teams
webhook's secret is its path).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from pydantic import AliasChoices, SecretStr, ValidationError
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings

from ollamon_cli.settings_table import env_names, settings_classes
from ollamon_core.redaction import redact_url

HIDDEN = "(set, hidden)"
SECRET_ENDINGS = ("password", "_token", "secret")
ORIGIN_ONLY_FIELDS = frozenset({"webhook_urls"})


class Source:
    """Where a value came from."""

    ENVIRONMENT = "environment"
    ENV_FILE = "env file"
    DEFAULT = "default"
    INVALID = "invalid"


@dataclass
class EffectiveSetting:
    """One variable: its value (as each service reads it, when they differ) and its source."""

    variable: str
    source: str
    values: dict[str, list[str]] = field(default_factory=dict)  # shown value -> services
    problem: str | None = None
    set_as: str | None = None  # the alias actually set, when not the public name

    @property
    def value(self) -> str:
        """The value, or each distinct value with the services reading it."""
        if len(self.values) == 1:
            return next(iter(self.values))
        return "; ".join(f"{value} ({', '.join(users)})" for value, users in self.values.items())


def _candidates(settings_class: type[BaseSettings], name: str, info: FieldInfo) -> list[str]:
    prefix = str(settings_class.model_config.get("env_prefix", ""))
    alias = info.validation_alias
    if isinstance(alias, AliasChoices):
        names = [str(choice) for choice in alias.choices]
    elif isinstance(alias, str):
        names = [alias]
    else:
        names = []
    return [*names, f"{prefix}{name}".upper()]


def _is_secret(name: str, info: FieldInfo) -> bool:
    return "SecretStr" in str(info.annotation) or name.endswith(SECRET_ENDINGS)


def shown_value(name: str, info: FieldInfo, value: Any) -> str:
    """How a value is printed: secrets hidden, URLs without credentials, lists comma-joined."""
    if value is None or value == "" or value == []:
        return "unset"
    if _is_secret(name, info):
        return HIDDEN
    if isinstance(value, SecretStr):
        return HIDDEN
    if isinstance(value, list):
        return ",".join(_shown_item(name, item) for item in value)
    return _shown_item(name, value)


def _shown_item(name: str, item: object) -> str:
    text = str(item)
    if "://" not in text:
        return text
    if name in ORIGIN_ONLY_FIELDS:
        parts = urlsplit(text)
        return f"{parts.scheme}://{parts.hostname}{f':{parts.port}' if parts.port else ''}/…"
    return redact_url(text)


def _instance(
    settings_class: type[BaseSettings],
) -> tuple[BaseSettings | None, dict[str, str]]:
    try:
        return settings_class(), {}
    except ValidationError as error:
        problems = {
            str(detail["loc"][0]): detail["msg"] for detail in error.errors() if detail["loc"]
        }
        return None, problems


def effective_settings(
    environ: Mapping[str, str], from_env_file: frozenset[str] = frozenset()
) -> list[EffectiveSetting]:
    """Every variable of every service's settings, sorted by name.

    Args:
        environ: The environment the settings classes read (`os.environ`).
        from_env_file: The variables `--env-file` put there.
    """
    present = {name.upper(): name for name in environ}
    rows: dict[str, EffectiveSetting] = {}
    for service, settings_class in settings_classes().items():
        instance, problems = _instance(settings_class)
        public = env_names(settings_class)
        for name, info in settings_class.model_fields.items():
            variable = public[name]
            names = _candidates(settings_class, name, info)
            set_as = next((candidate for candidate in names if candidate in present), None)
            row = rows.get(variable)
            if row is None:
                source = Source.DEFAULT
                if set_as is not None:
                    source = Source.ENV_FILE if set_as in from_env_file else Source.ENVIRONMENT
                row = rows[variable] = EffectiveSetting(
                    variable, source, set_as=set_as if set_as not in (None, variable) else None
                )
            if name in problems:
                row.source, row.problem = Source.INVALID, problems[name]
            if instance is not None:
                value = getattr(instance, name)
            elif set_as is not None:  # the class is invalid: show what was given
                value = environ[present[set_as]]
            else:
                value = info.get_default(call_default_factory=True)
            shown = shown_value(name, info, value)
            row.values.setdefault(shown, []).append(service)
    return [rows[variable] for variable in sorted(rows)]


def settings_lines(rows: list[EffectiveSetting]) -> list[tuple[str, str, str]]:
    """(variable, source, value) per row, the source saying which alias or problem."""
    lines = []
    for row in rows:
        source = row.source
        if row.set_as:
            source += f" ({row.set_as})"
        if row.problem:
            source += f": {row.problem}"
        lines.append((row.variable, source, row.value))
    return lines
