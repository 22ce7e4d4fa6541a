"""The stack starts every service member, and the cli declares each service it starts."""

from __future__ import annotations

import tomllib
from pathlib import Path

from packaging.requirements import Requirement

from bootstrap import workspace_members
from ollamon_cli.stack import SERVICE_ORDER

ROOT = Path(__file__).resolve().parents[2]


def test_the_stack_starts_every_service_member_once() -> None:
    members = [Path(m).name for m in workspace_members() if m.startswith("services/")]
    assert sorted(SERVICE_ORDER) == sorted(members)


def test_the_cli_declares_each_service_it_starts() -> None:
    project = tomllib.loads((ROOT / "cli" / "pyproject.toml").read_text())["project"]
    declared = {Requirement(text).name for text in project["dependencies"]}
    assert {f"ollamon-{name}" for name in SERVICE_ORDER} <= declared
