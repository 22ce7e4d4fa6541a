"""A nats-server with the stack's authorization, the way `ollamon up` runs it."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ollamon_cli.credentials import StackCredentials, load_or_create_credentials
from ollamon_cli.nats_server import NatsServer
from ollamon_core.bus import NatsLogin


@dataclass
class AuthorizedNats:
    """A running server that admits only the stack's users, and their credentials."""

    server: NatsServer
    credentials: StackCredentials

    @property
    def url(self) -> str:
        """Client URL of the server."""
        return self.server.url

    def login(self, user: str) -> NatsLogin:
        """How `user` connects."""
        return self.credentials.login(user)

    def password(self, user: str) -> str:
        """`user`'s password."""
        return self.credentials.passwords[user]


@contextlib.contextmanager
def authorized_nats_server(storage_path: Path) -> Iterator[AuthorizedNats]:
    """Credentials under `storage_path` (made or reused) and a server running with them
    (a sync context manager: enter it from a thread or a sync fixture)."""
    credentials = load_or_create_credentials(storage_path)
    server = NatsServer(storage_path / "nats", config_file=credentials.server_config).start()
    try:
        yield AuthorizedNats(server, credentials)
    finally:
        server.stop()
