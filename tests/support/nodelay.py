"""Reading TCP_NODELAY on the server's side of a connection, from the kernel.

The servers under test run in the test's process, so the socket they accepted is one of its
file descriptors: the one whose peer is the client's local address (psutil lists them). Its
option is read from a duplicate of that descriptor: what the kernel holds, whatever event loop,
protocol or listening socket the server used.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import psutil


def _accepted_nodelay(client_address: tuple[str, int]) -> int:
    for connection in psutil.Process().net_connections(kind="tcp"):
        if connection.raddr and tuple(connection.raddr) == client_address and connection.fd >= 0:
            with socket.socket(fileno=os.dup(connection.fd)) as accepted:
                return accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
    raise LookupError(f"no accepted connection from {client_address} in this process")


@contextlib.asynccontextmanager
async def kept_alive_connection(url: str, path: str) -> AsyncIterator[int]:
    """Open a connection to `url`, GET `path` on it (so the server has accepted it and
    answered once), and yield TCP_NODELAY of the server's side of it (non-zero when set)."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(f"GET {path} HTTP/1.1\r\nHost: {parts.netloc}\r\n\r\n".encode())
        await writer.drain()
        await reader.readuntil(b"\r\n\r\n")  # the head: the server accepted and answered
        client_address = writer.get_extra_info("sockname")[:2]
        yield await asyncio.to_thread(_accepted_nodelay, client_address)
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()
