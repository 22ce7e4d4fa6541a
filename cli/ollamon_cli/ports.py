"""The addresses `ollamon up` serves, and whether another program holds one (stdlib only:
the supervisor imports it and stays slim)."""

from __future__ import annotations

import socket
from dataclasses import dataclass


@dataclass(frozen=True)
class ServedPort:
    """An address a service listens on, and the setting that moves it."""

    what: str
    host: str
    port: int
    setting: str

    def taken_line(self) -> str:
        """The one line that says another program holds this address."""
        return (
            f"ollamon: {self.host}:{self.port} ({self.what}) is already in use by another "
            f"program; stop it or set {self.setting} to a free port"
        )


def port_taken(host: str, port: int) -> bool:
    """True when a listener already holds host:port (a socket in TIME_WAIT does not count)."""
    if port == 0:
        return False
    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError:
            return True
    return False
