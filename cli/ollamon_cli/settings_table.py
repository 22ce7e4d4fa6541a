"""Every setting of the stack as one markdown table (`ollamon settings`, the README's table).

Each service owns its settings class. The cli starts every service (`python -m
ollamon_<name>`), so it is the member that knows them all: it imports each class from the
installed service when the table is asked for.
"""

from __future__ import annotations

import importlib

from pydantic import AliasChoices
from pydantic_settings import BaseSettings

from ollamon_cli.settings import StackSettings
from ollamon_core.settings import DEFAULT_NATS_URL

# Service -> "module:class" of its settings, in the order of the table's "used by" column.
SERVICE_SETTINGS = {
    "collector": "ollamon_collector.settings:CollectorSettings",
    "probe": "ollamon_probe.settings:ProbeSettings",
    "alerting": "ollamon_alerting.settings:AlertingSettings",
    "storage": "ollamon_storage.settings:StorageSettings",
    "gateway": "ollamon_gateway.settings:GatewaySettings",
}


def settings_classes() -> dict[str, type[BaseSettings]]:
    """Each service's settings class, and the stack's, by name."""
    classes: dict[str, type[BaseSettings]] = {}
    for service, location in SERVICE_SETTINGS.items():
        module_name, class_name = location.split(":")
        settings_class = getattr(importlib.import_module(module_name), class_name)
        if not issubclass(settings_class, BaseSettings):
            raise TypeError(f"{location} is not a settings class")
        classes[service] = settings_class
    classes["stack"] = StackSettings
    return classes


def env_names(settings_class: type[BaseSettings]) -> dict[str, str]:
    """Map each field of a settings class to the environment variable that sets it."""
    prefix = str(settings_class.model_config.get("env_prefix", ""))
    names: dict[str, str] = {}
    for field_name, field in settings_class.model_fields.items():
        alias = field.validation_alias
        if isinstance(alias, AliasChoices):
            names[field_name] = str(alias.choices[0])
        elif isinstance(alias, str):
            names[field_name] = alias
        else:
            names[field_name] = f"{prefix}{field_name}".upper()
    return names


def _default_text(field_name: str, default: object, computed: bool) -> str:
    if computed:
        return "host name" if field_name == "host_label" else "(computed)"
    if default is None or default == "":
        return "unset"
    if isinstance(default, list):
        return f"`{','.join(str(item) for item in default)}`"
    return f"`{default}`"


def settings_table() -> str:
    """Render every setting as a markdown table, one row per variable."""
    rows: dict[str, tuple[list[str], str, str]] = {}
    for service, settings_class in settings_classes().items():
        names = env_names(settings_class)
        for field_name, field in settings_class.model_fields.items():
            default = _default_text(field_name, field.default, field.default_factory is not None)
            users, _, _ = rows.setdefault(names[field_name], ([], default, field.description or ""))
            users.append(service)
    lines = ["| variable | default | used by | meaning |", "|---|---|---|---|"]
    for env_name in sorted(rows):
        users, default, description = rows[env_name]
        if env_name == "OLLAMON_NATS_URL":
            default = f"`{DEFAULT_NATS_URL}` (embedded server under `ollamon up`)"
        lines.append(f"| `{env_name}` | {default} | {', '.join(users)} | {description} |")
    return "\n".join(lines)
