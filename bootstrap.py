#!/usr/bin/env python3
"""Set up and run ollamon on a machine with only Python 3.11+ and pip.

    python3 bootstrap.py up      # install into .venv, then start the whole stack
    python3 bootstrap.py test    # install with the dev tools, then run the whole test suite

Other commands (`demo`, `lint`, `bench`, `alerts`, `selftest`, ...) install the same way and
pass through to the `ollamon` command or the tool named. Re-running skips the install when
no pyproject.toml changed.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tomllib
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = Path(os.environ.get("OLLAMON_VENV", ROOT / ".venv"))
MEMBERS = [
    "libs/ollamon-core",
    "services/collector",
    "services/probe",
    "services/alerting",
    "services/storage",
    "services/gateway",
    "cli",
    "emulator",
]
DEV_COMMANDS = {"test", "lint", "bench"}


def venv_python() -> Path:
    return VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def venv_bin(name: str) -> Path:
    return venv_python().parent / name


def dev_requirements() -> list[str]:
    with (ROOT / "pyproject.toml").open("rb") as handle:
        return list(tomllib.load(handle)["dependency-groups"]["dev"])


def install_fingerprint(with_dev: bool) -> str:
    digest = hashlib.sha256(str(with_dev).encode())
    for member in ["", *MEMBERS]:
        digest.update((ROOT / member / "pyproject.toml").read_bytes())
    return digest.hexdigest()


def pip(*args: str) -> None:
    command = [str(venv_python()), "-m", "pip", "--disable-pip-version-check", *args]
    subprocess.run(command, check=True)


def ensure_installed(with_dev: bool) -> None:
    stamp = VENV / ".ollamon-installed"
    wanted = install_fingerprint(with_dev)
    if stamp.exists() and stamp.read_text() in {wanted, install_fingerprint(True)}:
        return
    if not venv_python().exists():
        print(f"creating {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    print("installing ollamon (this takes a minute the first time)", flush=True)
    pip("install", "-q", "--upgrade", "pip", "hatchling", "editables")
    editable = [arg for member in MEMBERS for arg in ("-e", str(ROOT / member))]
    extra = dev_requirements() if with_dev else []
    pip("install", "-q", "--no-build-isolation", *editable, *extra)
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
        run = [str(venv_python()), str(ROOT / "scripts" / "lint.py"), *rest]
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
