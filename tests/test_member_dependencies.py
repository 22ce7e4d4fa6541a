"""Each workspace member imports only what its own pyproject declares.

This is the static twin of installing each member alone: it walks every module's imports
and checks each third-party one against the member's declared dependencies and what they
pull in, so a service importing a neighbour (or a neighbour's dependency) fails here.
"""

from __future__ import annotations

import ast
import importlib.metadata as metadata
import os
import re
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from bootstrap import workspace_members

ROOT = Path(__file__).resolve().parents[1]
MEMBERS = workspace_members()


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def dependency_closure(requirements: list[str]) -> set[str]:
    """Distributions reachable from `requirements` (extras named in them included)."""
    seen: set[str] = set()
    pending = [Requirement(text) for text in requirements]
    while pending:
        requirement = pending.pop()
        name = normalise(requirement.name)
        if name in seen:
            continue
        seen.add(name)
        try:
            requires = metadata.requires(requirement.name) or []
        except metadata.PackageNotFoundError:
            continue
        for text in requires:
            child = Requirement(text)
            environment = {"extra": next(iter(requirement.extras), "")}
            if child.marker is None or child.marker.evaluate(environment):
                pending.append(child)
    return seen


def imported_top_level_modules(package_dir: Path) -> set[str]:
    modules: set[str] = set()
    for path in package_dir.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                modules.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules.add(node.module.split(".")[0])
    return modules


def packages_of(member: str) -> list[Path]:
    """The import packages a member ships (flat or src layout)."""
    return [
        p.parent
        for pattern in ("*/__init__.py", "src/*/__init__.py")
        for p in (ROOT / member).glob(pattern)
    ]


def folders_with_a_pyproject() -> set[str]:
    found: set[str] = set()
    for folder, subfolders, files in os.walk(ROOT):
        subfolders[:] = [s for s in subfolders if not s.startswith((".", "__")) and s != "build"]
        if "pyproject.toml" in files and Path(folder) != ROOT:
            found.add(Path(folder).relative_to(ROOT).as_posix())
    return found


def test_every_folder_with_a_pyproject_is_a_workspace_member() -> None:
    assert folders_with_a_pyproject() == set(MEMBERS)


@pytest.mark.parametrize("member", MEMBERS)
def test_mypy_and_ruff_know_each_members_packages(member: str) -> None:
    tool = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]
    for package_dir in packages_of(member):
        assert package_dir.parent.relative_to(ROOT).as_posix() in tool["mypy"]["mypy_path"]
        assert package_dir.name in tool["ruff"]["lint"]["isort"]["known-first-party"]


@pytest.mark.parametrize("member", MEMBERS)
def test_member_imports_only_its_declared_dependencies(member: str) -> None:
    project = tomllib.loads((ROOT / member / "pyproject.toml").read_text())["project"]
    # Optional dependencies (extras) count as declared: a member imports them lazily and
    # runs without them (the collector's `amd` extra).
    declared = [
        *project.get("dependencies", []),
        *(name for extra in project.get("optional-dependencies", {}).values() for name in extra),
    ]
    allowed = dependency_closure(declared) | {normalise(project["name"])}
    distributions = metadata.packages_distributions()
    package_dirs = packages_of(member)
    assert package_dirs, f"no package found in {member}"
    undeclared: dict[str, list[str]] = {}
    for package_dir in package_dirs:
        for module in imported_top_level_modules(package_dir):
            if module in sys.stdlib_module_names or module == package_dir.name:
                continue
            owners = {normalise(d) for d in distributions.get(module, [module])}
            if not owners & allowed:
                undeclared[module] = sorted(owners)
    assert not undeclared, f"{member} imports undeclared packages: {undeclared}"
