"""Print the third-party dependencies of workspace members (for a Docker dependency layer)."""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path


def third_party_requirements(members: list[str]) -> list[str]:
    """Dependencies of the given member folders, without the workspace's own packages."""
    requirements: list[str] = []
    for member in members:
        project = tomllib.loads((Path(member) / "pyproject.toml").read_text())["project"]
        requirements += [
            dependency
            for dependency in project.get("dependencies", [])
            if not dependency.startswith(("ollamon-", "ollama-emulator"))
        ]
    return sorted(set(requirements))


if __name__ == "__main__":
    print("\n".join(third_party_requirements(sys.argv[1:])))
