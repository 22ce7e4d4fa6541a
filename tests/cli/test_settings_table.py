"""`ollamon settings --reference` prints every service's settings, one row per variable."""

from __future__ import annotations

import pytest

from ollamon_cli.main import main
from ollamon_cli.settings_table import settings_classes
from ollamon_cli.stack import SERVICE_ORDER


def test_the_table_covers_the_five_services_and_the_stack() -> None:
    classes = settings_classes()
    assert set(classes) == {*SERVICE_ORDER, "stack"}
    for service in SERVICE_ORDER:  # each service's own class, from its own package
        assert classes[service].__module__ == f"ollamon_{service}.settings"


def test_ollamon_settings_prints_each_variable_once_with_its_users(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["settings", "--reference"]) == 0
    rows = capsys.readouterr().out.splitlines()[2:]
    names = [row.split("|")[1].strip() for row in rows]
    assert len(names) == len(set(names))
    assert "| `OLLAMON_STORAGE_BATCH_SIZE` | `2000` | storage |" in "\n".join(rows)
    assert any(
        row.startswith("| `OLLAMON_NATS_URL` |")
        and "collector, probe, alerting, storage, gateway, notifier, stack" in row
        for row in rows
    )
