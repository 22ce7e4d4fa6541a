#!/usr/bin/env python3
"""Set up and run ollamon on a machine with only Python 3.11+ and pip.

    python3 bootstrap.py up      # install into .venv, then start the whole stack
    python3 bootstrap.py test    # install with the dev tools, then run the whole test suite

Other commands (`demo`, `lint`, `bench`, `alerts`, `selftest`, ...) install the same way and
pass through to the `ollamon` command or the tool named.

The install: a venv (`OLLAMON_VENV`, default .venv) made with the standard library, pip
installs the uv that pyproject.toml pins (`tool.uv.required-version`) into it, then
`uv sync --frozen` installs exactly the versions in uv.lock, every workspace member editable.
Re-running skips the install when neither uv.lock nor any pyproject.toml changed. A venv
that once had the dev tools keeps them.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tomllib
import venv
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent
VENV = Path(os.environ.get("OLLAMON_VENV", ROOT / ".venv")).absolute()
DEV_COMMANDS = {"test", "lint", "bench"}
WITH_DEV = " +dev"


def _root_pyproject(root: Path) -> dict[str, Any]:
    with (root / "pyproject.toml").open("rb") as handle:
        return tomllib.load(handle)


def workspace_members(root: Path = ROOT) -> list[str]:
    """The member folders (relative, `/`-separated) as the root pyproject lists them for uv.

    This is the one list of members: the lint paths, the tests and this install read it.
    """
    members: list[str] = []
    for pattern in _root_pyproject(root)["tool"]["uv"]["workspace"]["members"]:
        found = sorted(path.parent for path in root.glob(f"{pattern}/pyproject.toml"))
        members += [path.relative_to(root).as_posix() for path in found]
    return members


def uv_requirement(root: Path = ROOT) -> str:
    """The uv that pyproject.toml pins, as a pip requirement (`uv==X.Y.Z`)."""
    return "uv" + _root_pyproject(root)["tool"]["uv"]["required-version"]


def venv_python() -> Path:
    return VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def venv_bin(name: str) -> Path:
    return venv_python().parent / (f"{name}.exe" if os.name == "nt" else name)


def install_fingerprint() -> str:
    """What the install depends on: the lock and every pyproject.toml (the uv pin included)."""
    digest = hashlib.sha256((ROOT / "uv.lock").read_bytes())
    for member in ["", *workspace_members()]:
        digest.update((ROOT / member / "pyproject.toml").read_bytes())
    return digest.hexdigest()


def built_from_source(root: Path = ROOT) -> list[str]:
    """The packages uv compiles from their sdists (llama-cpp-python: minutes of C++): those
    the root pyproject gives build variables (`[tool.uv] extra-build-variables`)."""
    return sorted(_root_pyproject(root)["tool"]["uv"].get("extra-build-variables", {}))


def sync_command(with_dev: bool, *options: str) -> list[str]:
    """`uv sync` of every member at the locked versions, into VENV with its interpreter."""
    groups = "--all-groups" if with_dev else "--no-dev"
    return [
        str(venv_bin("uv")),
        "sync",
        "--quiet",
        "--frozen",
        "--all-packages",
        # uv leaves .pyc files to first import, which never writes them where
        # PYTHONDONTWRITEBYTECODE is set: every service start then compiled its imports
        # again (the collector's peak RSS rose from 43 to 61 MB, most of it pynvml.py).
        "--compile-bytecode",
        groups,
        "--python",
        str(venv_python()),
        *options,
    ]


def sync(with_dev: bool, environment: dict[str, str]) -> None:
    """Install from uv.lock, compiling a package from source only when uv's cache has no
    wheel built from its sdist yet.

    uv keeps the wheels it builds (~/.cache/uv), but revalidates the sdist's download on
    every sync, and where the index's answers carry no cache headers (a proxy) that counts
    as a new revision: the package would be compiled again each time. So the packages built
    from source wait: first everything else is synced online, then the whole set offline
    (the cached wheel, whatever the age of its download), online only when that fails
    (nothing built yet on this machine).
    """
    if not with_dev:  # the packages built from source are test tools
        subprocess.run(sync_command(False), check=True, cwd=ROOT, env=environment)
        return
    skipped = [option for name in built_from_source() for option in ("--no-install-package", name)]
    subprocess.run(sync_command(True, *skipped), check=True, cwd=ROOT, env=environment)
    offline = subprocess.run(
        sync_command(True, "--offline"), cwd=ROOT, env=environment, capture_output=True
    )
    if offline.returncode != 0:
        print(f"building {', '.join(built_from_source())} from source (once)", flush=True)
        subprocess.run(sync_command(True), check=True, cwd=ROOT, env=environment)


def ensure_installed(with_dev: bool) -> None:
    stamp = VENV / ".ollamon-installed"
    previous = stamp.read_text() if stamp.exists() else ""
    with_dev = with_dev or previous.endswith(WITH_DEV)
    wanted = install_fingerprint() + (WITH_DEV if with_dev else "")
    if previous == wanted:
        return
    if not venv_python().exists():
        print(f"creating {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    print("installing ollamon from uv.lock", flush=True)
    pip = [str(venv_python()), "-m", "pip", "--disable-pip-version-check", "install", "-q"]
    subprocess.run([*pip, uv_requirement()], check=True)
    environment = {**os.environ, "UV_PROJECT_ENVIRONMENT": str(VENV)}
    sync(with_dev, environment)
    stamp.write_text(wanted)


def main(argv: list[str]) -> int:
    if not argv or argv[0] in {"-h", "--help"}:
        print(__doc__)
        return 0
    command, rest = argv[0], argv[1:]
    ensure_installed(with_dev=command in DEV_COMMANDS)
    if command == "test":
        run = [str(venv_python()), "-m", "pytest", *rest]
    elif command == "lint":
        run = [str(venv_python()), "-m", "scripts.lint", *rest]
    elif command == "bench":
        run = [str(venv_python()), "-m", "bench", *rest]
    else:
        run = [str(venv_bin("ollamon")), command, *rest]
    os.chdir(ROOT)
    if os.name == "nt":
        return subprocess.call(run)
    os.execv(run[0], run)  # noqa: S606 (the stack then receives Ctrl-C directly)
    return 0  # pragma: no cover


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
