"""`ollamon --env-file PATH`: settings from a file of `NAME=value` lines, as compose reads.

Nothing reads a `.env` file unless asked: compose's `.env` beside docker-compose.yml holds
every NATS user's password, which `ollamon up` must not pick up by surprise. Given a file,
each variable it sets that the environment does not already set is put into the
environment of `ollamon` (and so of the services `ollamon up` starts): the environment
wins, as with compose.
"""

from __future__ import annotations

import os
from io import StringIO
from pathlib import Path

from dotenv import dotenv_values

from ollamon_cli.exits import CommandError


def load_env_file(path: Path) -> frozenset[str]:
    """Put the file's variables missing from the environment into it; return their names.

    Raises:
        CommandError: the file cannot be read.
    """
    try:
        text = path.read_text()
    except OSError as error:
        raise CommandError(f"--env-file {path}: {error.strerror or error}") from None
    loaded = set()
    for name, value in dotenv_values(stream=StringIO(text)).items():
        if value is not None and name not in os.environ:
            os.environ[name] = value
            loaded.add(name)
    return frozenset(loaded)
