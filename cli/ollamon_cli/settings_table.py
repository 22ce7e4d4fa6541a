"""Every setting of the stack as one markdown table (`ollamon settings`, the README's table).

Each service owns its settings class. The cli starts every service (`python -m
ollamon_<name>`) and declares each as a dependency, so it is the member that knows them all.
"""

from __future__ import annotations

from pydantic import AliasChoices
from pydantic_settings import BaseSettings

from ollamon_alerting.settings import AlertingSettings
from ollamon_cli.settings import StackSettings
from ollamon_collector.settings import CollectorSettings
from ollamon_core.settings import DEFAULT_NATS_URL
from ollamon_gateway.settings import GatewaySettings
from ollamon_notifier.settings import NotifierSettings
from ollamon_probe.settings import ProbeSettings
from ollamon_storage.settings import StorageSettings


def settings_classes() -> dict[str, type[BaseSettings]]:
    """Each service's settings class, and the stack's, by name (the order of the table's
    "used by" column)."""
    return {
        "collector": CollectorSettings,
        "probe": ProbeSettings,
        "alerting": AlertingSettings,
        "storage": StorageSettings,
        "gateway": GatewaySettings,
        "notifier": NotifierSettings,
        "stack": StackSettings,
    }


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
