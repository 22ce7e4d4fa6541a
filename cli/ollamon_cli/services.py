"""`python -m ollamon_cli.services NAME...`: the named services in one process (`ollamon up`).

Each service gets its own settings object (its own `OLLAMON_<SERVICE>_*` variables, as
when it runs alone) and, when `OLLAMON_NATS_PASSWORD_<NAME>` is set, logs in to NATS as its
own user with that password: the same users and permissions as one process per service.
Only the named services are imported (an edge imports the probe and the collector only).
See `ollamon_core.runtime.shared_process` and docs/decisions/0022-one-process.md.
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ollamon_cli.nats_config import password_variable
from ollamon_core.events import ServiceName
from ollamon_core.runtime.shared_process import HostedService, run_services


@dataclass(frozen=True)
class ServiceEntry:
    """Where a service's settings class and lifespan live (imported only when it runs)."""

    settings: str  # "module:Class"
    lifespan: str  # "module:function"


ENTRIES: dict[str, ServiceEntry] = {
    "storage": ServiceEntry(
        "ollamon_storage.settings:StorageSettings", "ollamon_storage.service:running_storage"
    ),
    "alerting": ServiceEntry(
        "ollamon_alerting.settings:AlertingSettings", "ollamon_alerting.service:running_alerting"
    ),
    "notifier": ServiceEntry(
        "ollamon_notifier.settings:NotifierSettings", "ollamon_notifier.service:running_notifier"
    ),
    "collector": ServiceEntry(
        "ollamon_collector.settings:CollectorSettings",
        "ollamon_collector.service:running_collector",
    ),
    "probe": ServiceEntry(
        "ollamon_probe.settings:ProbeSettings", "ollamon_probe.service:running_probe"
    ),
    "gateway": ServiceEntry(
        "ollamon_gateway.settings:GatewaySettings", "ollamon_gateway.service:running_gateway"
    ),
}


def _load(path: str) -> Any:
    module, _, attribute = path.partition(":")
    return getattr(importlib.import_module(module), attribute)


def nats_login(name: str, environ: Mapping[str, str]) -> dict[str, str]:
    """Settings fields (by name) that log service `name` in as itself, when its password is
    in the environment; else nothing (the settings read `OLLAMON_NATS_USER` as usual)."""
    password = environ.get(password_variable(name))
    if password is None:
        return {}
    return {"nats_user": name, "nats_password": password}


def hosted_services(
    names: Sequence[str], environ: Mapping[str, str] = os.environ
) -> list[HostedService]:
    """The named services, in the order given, each with its own settings and login."""
    unknown = [name for name in names if name not in ENTRIES]
    if unknown:
        raise SystemExit(f"unknown service(s): {', '.join(unknown)}; known: {', '.join(ENTRIES)}")
    hosted = []
    for name in names:
        entry = ENTRIES[name]
        settings_type: Callable[..., Any] = _load(entry.settings)
        hosted.append(
            HostedService(
                ServiceName(name),
                settings_type(**nats_login(name, environ)),
                _load(entry.lifespan),
            )
        )
    return hosted


def prepare_process(names: Sequence[str]) -> None:
    """What a service's own `__main__` does to its process, done once for all of them."""
    if "probe" in names:
        # httpx logs every request at INFO: noise, and a cost on the proxy's hot path.
        logging.getLogger("httpx").setLevel(logging.WARNING)
    if "storage" in names:
        from ollamon_storage.__main__ import tune_garbage_collector

        tune_garbage_collector()  # after every import: gc.freeze() keeps them out of scans


def main(argv: Sequence[str] | None = None) -> None:
    names = list(sys.argv[1:] if argv is None else argv)
    services = hosted_services(names)
    prepare_process(names)
    run_services(services)


if __name__ == "__main__":
    main()
