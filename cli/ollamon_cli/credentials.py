"""The embedded NATS server's users: passwords made on first start, kept, reused.

`ollamon up` keeps them under the storage path, in `nats-auth/` (folder 0700):
`credentials.json` (0600) maps each user of `ollamon_core.permissions.user_permissions()`
to its password, and `server.conf` (0600), written afresh at every start from the same
table, is the server's `authorization` block. Passwords are plain in both files: the
services need them in plain text anyway (the stack hands each service its own through
`OLLAMON_NATS_USER` / `OLLAMON_NATS_PASSWORD`), so a hash in the server's copy would
protect nothing the credentials file beside it does not give away
(docs/decisions/0008-nats-authorization.md).
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from pydantic import SecretStr

from ollamon_cli.nats_config import authorization
from ollamon_core.bus import NatsLogin
from ollamon_core.permissions import Permissions, user_permissions

AUTH_FOLDER = "nats-auth"
CREDENTIALS_FILE = "credentials.json"
SERVER_CONFIG_FILE = "server.conf"
PASSWORD_BYTES = 32
FOLDER_MODE = 0o700
FILE_MODE = 0o600


@dataclass(frozen=True)
class StackCredentials:
    """Every user's password, and the folder that keeps them."""

    folder: Path
    passwords: Mapping[str, str]

    @property
    def server_config(self) -> Path:
        """The nats-server configuration file written from these credentials."""
        return self.folder / SERVER_CONFIG_FILE

    @property
    def file(self) -> Path:
        """The credentials file."""
        return self.folder / CREDENTIALS_FILE

    def login(self, user: str) -> NatsLogin:
        """How `user` connects."""
        return NatsLogin(user, SecretStr(self.passwords[user]))

    def __repr__(self) -> str:
        return f"StackCredentials(folder={self.folder!s}, users={sorted(self.passwords)})"


def auth_folder(storage_path: Path) -> Path:
    """Where the stack keeps its NATS credentials."""
    return storage_path / AUTH_FOLDER


def write_private(path: Path, text: str) -> None:
    """Write `text` to `path` readable by its owner only (0600), replacing it atomically."""
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    try:
        with os.fdopen(descriptor, "w") as file:
            file.write(text)
        temporary.replace(path)
    finally:
        temporary.unlink(missing_ok=True)


def load_credentials(storage_path: Path) -> StackCredentials | None:
    """The credentials an earlier `ollamon up` made there, or None."""
    folder = auth_folder(storage_path)
    try:
        passwords = json.loads((folder / CREDENTIALS_FILE).read_text())
    except FileNotFoundError:
        return None
    return StackCredentials(folder, {str(user): str(pw) for user, pw in passwords.items()})


def load_or_create_credentials(
    storage_path: Path, table: Mapping[str, Permissions | None] | None = None
) -> StackCredentials:
    """Reuse the stored passwords, make the missing ones (all on first start), and write the
    credentials file and the server configuration, both 0600 in a 0700 folder.

    `table` is the server's users (default `user_permissions()`; a hub node's adds the
    edges' `leaf`, `ollamon_core.permissions.hub_user_permissions()`)."""
    folder = auth_folder(storage_path)
    folder.mkdir(mode=FOLDER_MODE, parents=True, exist_ok=True)
    folder.chmod(FOLDER_MODE)
    stored = load_credentials(storage_path)
    passwords = dict(stored.passwords) if stored else {}
    users = list(user_permissions() if table is None else table)
    missing = [user for user in users if user not in passwords]
    for user in missing:
        passwords[user] = secrets.token_urlsafe(PASSWORD_BYTES)
    credentials = StackCredentials(folder, {user: passwords[user] for user in users})
    if missing or stored is None:
        write_private(credentials.file, json.dumps(credentials.passwords, indent=2) + "\n")
    credentials.file.chmod(FILE_MODE)
    write_private(credentials.server_config, authorization(credentials.passwords, table))
    return credentials
